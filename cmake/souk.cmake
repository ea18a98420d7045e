# Helpers shared by every CMakeLists: unit test registration and embedding SQL
# migrations into service binaries (so a binary needs no files beside it).

# souk_unit_test(NAME SOURCES... LIBS ...): a cmocka test registered with ctest.
function(souk_unit_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} PkgConfig::CMOCKA)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES TIMEOUT 120)
endfunction()

# souk_embed_migrations(TARGET DIR): generates a C table of the numbered SQL
# files in DIR (0001_name.sql, ...) as `souk_migrations[]` and adds it to TARGET.
function(souk_embed_migrations target dir)
  file(GLOB files RELATIVE ${dir} CONFIGURE_DEPENDS ${dir}/[0-9][0-9][0-9][0-9]_*.sql)
  list(SORT files)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${target}_migrations.c)
  set(body "/* generated from ${dir}; do not edit */\n#include <souk/db.h>\n")
  set(table "")
  set(i 0)
  foreach(f ${files})
    file(READ ${dir}/${f} hex HEX)
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${dir}/${f})
    string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
    string(APPEND body "static const char m${i}[] = {${hex}0x00};\n")
    string(APPEND table "    {\"${f}\", m${i}},\n")
    math(EXPR i "${i}+1")
  endforeach()
  string(APPEND body "const souk_migration_t souk_migrations[] = {\n${table}    {0, 0}};\n")
  file(CONFIGURE OUTPUT ${out} CONTENT "${body}")
  target_sources(${target} PRIVATE ${out})
endfunction()

# souk_embed_text(TARGET SYMBOL FILE): the file's text as `const char SYMBOL[]`.
function(souk_embed_text target symbol file)
  file(READ ${file} hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${target}_${symbol}.c)
  file(CONFIGURE OUTPUT ${out} CONTENT "/* generated from ${file}; do not edit */\nextern const char ${symbol}[];\nconst char ${symbol}[] = {${hex}0x00};\n")
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${file})
  target_sources(${target} PRIVATE ${out})
endfunction()
