// helm-render renders a Helm chart the way `helm template` does, for machines
// without helm: Go's text/template with sprig's functions and Helm's own
// (include, tpl, required, toYaml, fromYaml, toJson, fromJson, lookup), the
// chart's values deep-merged with -f files, and the built-in objects .Values,
// .Release, .Chart, .Capabilities and .Template.
//
// It is stricter than helm in one way, on purpose: a template that reads a
// values key that does not exist fails (missingkey=error) instead of quietly
// rendering nothing, so every key a template uses must be in values.yaml.
// lookup always finds nothing, as with `helm template`.
//
// usage: helm-render -chart DIR [-f values.yaml]... [-release NAME]
//
//	[-namespace NS] [-api-versions a/v1,b/v1] > manifests.yaml
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"gopkg.in/yaml.v3"
)

type fileList []string

func (f *fileList) String() string     { return strings.Join(*f, ",") }
func (f *fileList) Set(v string) error { *f = append(*f, v); return nil }

type apiVersions []string

// Has answers .Capabilities.APIVersions.Has "monitoring.coreos.com/v1".
func (a apiVersions) Has(v string) bool {
	for _, x := range a {
		if x == v {
			return true
		}
	}
	return false
}

type kubeVersion struct{ Version, Major, Minor, GitVersion string }

type capabilities struct {
	APIVersions apiVersions
	KubeVersion kubeVersion
}

func readYAML(path string) (map[string]interface{}, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]interface{}{}
	if err := yaml.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// merge returns base with over merged in: maps key by key, anything else
// replaced (Helm's rule for values files).
func merge(base, over map[string]interface{}) map[string]interface{} {
	out := map[string]interface{}{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		bm, bok := out[k].(map[string]interface{})
		om, ook := v.(map[string]interface{})
		if bok && ook {
			out[k] = merge(bm, om)
		} else {
			out[k] = v
		}
	}
	return out
}

func toYAML(v interface{}) (string, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	enc.Close()
	s := strings.TrimSuffix(buf.String(), "\n")
	if s == "{}" || s == "[]" || s == "null" {
		// helm's toYaml of an empty map is "{}" too; keep it.
		return s, nil
	}
	return s, nil
}

type renderer struct {
	tpl   *template.Template
	depth int
}

func (r *renderer) funcs() template.FuncMap {
	f := sprig.TxtFuncMap()
	// Helm removes these: charts must not read the machine's environment.
	delete(f, "env")
	delete(f, "expandenv")
	f["toYaml"] = func(v interface{}) (string, error) { return toYAML(v) }
	f["fromYaml"] = func(s string) (map[string]interface{}, error) {
		out := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(s), &out); err != nil {
			return nil, fmt.Errorf("fromYaml: %w", err)
		}
		return out, nil
	}
	f["toJson"] = func(v interface{}) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	}
	f["fromJson"] = func(s string) (map[string]interface{}, error) {
		out := map[string]interface{}{}
		err := json.Unmarshal([]byte(s), &out)
		return out, err
	}
	f["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return nil, errors.New(msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return nil, errors.New(msg)
		}
		return v, nil
	}
	f["lookup"] = func(apiVersion, kind, namespace, name string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	f["include"] = func(name string, data interface{}) (string, error) {
		if r.depth > 1000 {
			return "", fmt.Errorf("include %q: recursion too deep", name)
		}
		r.depth++
		defer func() { r.depth-- }()
		var buf bytes.Buffer
		if err := r.tpl.ExecuteTemplate(&buf, name, data); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	f["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := r.tpl.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		err = t.Execute(&buf, data)
		return buf.String(), err
	}
	return f
}

func main() {
	var values fileList
	chartDir := flag.String("chart", "", "chart directory")
	release := flag.String("release", "souk", "release name")
	namespace := flag.String("namespace", "default", "release namespace")
	apis := flag.String("api-versions", "", "comma-separated extra API versions for .Capabilities")
	flag.Var(&values, "f", "values file (repeatable; later files win)")
	flag.Parse()
	if *chartDir == "" {
		fmt.Fprintln(os.Stderr, "usage: helm-render -chart DIR [-f values.yaml]...")
		os.Exit(2)
	}
	if err := run(*chartDir, *release, *namespace, *apis, values); err != nil {
		fmt.Fprintln(os.Stderr, "helm-render:", err)
		os.Exit(1)
	}
}

func run(chartDir, release, namespace, apis string, valueFiles []string) error {
	chart, err := readYAML(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return err
	}
	vals, err := readYAML(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return err
	}
	for _, f := range valueFiles {
		over, err := readYAML(f)
		if err != nil {
			return err
		}
		vals = merge(vals, over)
	}
	name := fmt.Sprint(chart["name"])
	chartObj := map[string]interface{}{
		"Name": name, "Version": fmt.Sprint(chart["version"]),
		"AppVersion": fmt.Sprint(chart["appVersion"]), "Description": fmt.Sprint(chart["description"]),
	}
	versions := apiVersions{"v1", "apps/v1", "batch/v1", "policy/v1", "autoscaling/v2",
		"networking.k8s.io/v1", "rbac.authorization.k8s.io/v1"}
	if apis != "" {
		versions = append(versions, strings.Split(apis, ",")...)
	}
	caps := capabilities{APIVersions: versions,
		KubeVersion: kubeVersion{Version: "v1.30.0", Major: "1", Minor: "30", GitVersion: "v1.30.0"}}
	releaseObj := map[string]interface{}{"Name": release, "Namespace": namespace, "Service": "Helm",
		"IsInstall": true, "IsUpgrade": false, "Revision": 1}

	r := &renderer{}
	r.tpl = template.New(name).Option("missingkey=error").Funcs(r.funcs())
	var files []string
	root := filepath.Join(chartDir, "templates")
	err = filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		return err
	}
	sort.Strings(files)
	for _, p := range files {
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(chartDir, p)
		if _, err := r.tpl.New(filepath.ToSlash(filepath.Join(name, rel))).Parse(string(raw)); err != nil {
			return err
		}
	}
	for _, p := range files {
		rel, _ := filepath.Rel(chartDir, p)
		tname := filepath.ToSlash(filepath.Join(name, rel))
		base := filepath.Base(p)
		if strings.HasPrefix(base, "_") {
			continue
		}
		data := map[string]interface{}{
			"Values": vals, "Chart": chartObj, "Release": releaseObj, "Capabilities": caps,
			"Template": map[string]interface{}{"Name": tname, "BasePath": name + "/templates"},
		}
		var buf bytes.Buffer
		if err := r.tpl.ExecuteTemplate(&buf, tname, data); err != nil {
			return err
		}
		if base == "NOTES.txt" {
			continue // rendered to prove it renders; helm prints it after install
		}
		out := strings.TrimSpace(buf.String())
		if out == "" {
			continue
		}
		if !strings.HasPrefix(out, "---") {
			out = "---\n" + out
		}
		out = strings.Replace(out, "---", "---\n# Source: "+tname, 1)
		fmt.Println(out)
	}
	return nil
}
