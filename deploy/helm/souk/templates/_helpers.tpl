{{/* Names, labels and the per-service settings every template shares. */}}

{{- define "souk.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* <release>-souk, or the release name when it already says souk. */}}
{{- define "souk.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "souk.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "souk.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* A component's resource name: (dict "root" $ "name" "auth"). */}}
{{- define "souk.component" -}}
{{- printf "%s-%s" (include "souk.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every resource but the selector ones. */}}
{{- define "souk.commonLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/part-of: {{ include "souk.name" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{- define "souk.labels" -}}
{{ include "souk.commonLabels" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "name" "auth"). */}}
{{- define "souk.selectorLabels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{- define "souk.componentLabels" -}}
{{ include "souk.commonLabels" .root }}
{{ include "souk.selectorLabels" . }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* A service's settings: serviceDefaults overridden by services.<name>, as YAML
     (fromYaml it): (dict "root" $ "name" "auth"). A setting serviceDefaults
     does not have is a mistake (a typo) and fails the render. */}}
{{- define "souk.serviceConfig" -}}
{{- $own := index .root.Values.services .name | default dict -}}
{{- range $k, $_ := $own -}}
{{- if not (hasKey $.root.Values.serviceDefaults $k) -}}
{{- fail (printf "services.%s.%s: unknown setting (see serviceDefaults)" $.name $k) -}}
{{- end -}}
{{- end -}}
{{- include "souk.merge" (dict "defaults" .root.Values.serviceDefaults "own" $own) -}}
{{- end -}}

{{/* Deep merge as YAML: own's values win, maps merge key by key. Unlike
     sprig's merge functions, an explicit false, 0 or "" in own wins too. */}}
{{- define "souk.merge" -}}
{{- $out := dict -}}
{{- range $k, $v := .defaults -}}
{{- if hasKey $.own $k -}}
{{- $o := index $.own $k -}}
{{- if and (kindIs "map" $v) (kindIs "map" $o) -}}
{{- $_ := set $out $k (include "souk.merge" (dict "defaults" $v "own" $o) | fromYaml) -}}
{{- else -}}
{{- $_ := set $out $k $o -}}
{{- end -}}
{{- else -}}
{{- $_ := set $out $k $v -}}
{{- end -}}
{{- end -}}
{{- range $k, $v := .own -}}
{{- if not (hasKey $.defaults $k) -}}
{{- $_ := set $out $k $v -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{- define "souk.image" -}}
{{- printf "%s/%s:%s" .root.Values.image.registry .name (default .root.Chart.AppVersion .root.Values.image.tag) -}}
{{- end -}}

{{/* The variable a service reads its port from: AUTH_PORT, GATEWAY_PORT, ... */}}
{{- define "souk.portVar" -}}
{{- printf "%s_PORT" (upper (replace "-" "_" .)) -}}
{{- end -}}

{{- define "souk.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "souk.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "souk.dbSecretName" -}}
{{- default (printf "%s-db" (include "souk.fullname" .)) .Values.postgresql.existingSecret -}}
{{- end -}}

{{- define "souk.jwtSecretName" -}}
{{- default (printf "%s-jwt" (include "souk.fullname" .)) .Values.jwt.existingSecret -}}
{{- end -}}

{{- define "souk.adminSecretName" -}}
{{- default (printf "%s-admin" (include "souk.fullname" .)) .Values.admin.existingSecret -}}
{{- end -}}

{{- define "souk.smtpSecretName" -}}
{{- default (printf "%s-smtp" (include "souk.fullname" .)) .Values.smtp.existingSecret -}}
{{- end -}}

{{/* Bootstrap servers: kafka.brokers, else the development broker. */}}
{{- define "souk.kafkaBrokers" -}}
{{- if .Values.kafka.brokers -}}
{{- .Values.kafka.brokers -}}
{{- else if .Values.kafkaDev.enabled -}}
{{- printf "%s:9092" (include "souk.component" (dict "root" . "name" "kafka")) -}}
{{- else -}}
{{- required "set kafka.brokers (or kafkaDev.enabled for a test cluster)" .Values.kafka.brokers -}}
{{- end -}}
{{- end -}}
