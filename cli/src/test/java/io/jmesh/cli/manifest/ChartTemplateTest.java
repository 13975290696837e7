package io.jmesh.cli.manifest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** The Go-template subset of {@link ChartTemplate}: Go's output for each construct, and errors with the line. */
class ChartTemplateTest {

    private static final Map<String, Object> VALUES = Map.of(
            "name", "istiod", "rev", "", "on", true, "off", false, "n", 3,
            "labels", Map.of("app", "x"), "empty", Map.of(), "args", List.of("--a", "--b=c"), "text", "say \"hi\"");

    private static String render(String template) {
        return ChartTemplate.parse("t.yaml", template).render(VALUES);
    }

    @Test
    void valuesAndPipelines() {
        assertEquals("name: istiod\nn: 3\non: true", render("name: {{ .Values.name }}\nn: {{ .Values.n }}\non: {{ .Values.on }}"));
        assertEquals("q: \"say \\\"hi\\\"\"", render("q: {{ .Values.text | quote }}"));
        assertEquals("args:\n  - --a\n  - --b=c", render("args:\n  {{- toYaml .Values.args | nindent 2 }}"));
        assertEquals("l:\n    app: x", render("l:\n{{ toYaml .Values.labels | indent 4 }}"));
        assertEquals("m:\n  {}", render("m:\n  {{- toYaml .Values.empty | nindent 2 }}"));
        assertEquals("a  b", render("a {{/* a comment */}} b"));
    }

    @Test
    void ifElseEndWithGosTruthAndTrimMarkers() {
        assertEquals("istiod", render("istiod{{ if .Values.rev }}-{{ .Values.rev }}{{ end }}"));
        assertEquals("a\nyes\nb", render("a\n{{- if .Values.on }}\nyes\n{{- else }}\nno\n{{- end }}\nb"));
        assertEquals("a\nno\nb", render("a\n{{- if .Values.off }}\nyes\n{{- else }}\nno\n{{- end }}\nb"));
        assertEquals("a\nb", render("a\n{{- if .Values.empty }}\nyes\n{{- end }}\nb"));
        assertEquals("a\nb", render("a\n{{- if .Values.missing.deep }}\nyes\n{{- end }}\nb"));
        assertEquals("yes", render("{{ if not .Values.rev }}yes{{ end }}"));
        assertEquals("ab", render("a {{- .Values.rev -}}  \n b"));
    }

    @Test
    void errorsNameTheTemplateAndLine() {
        assertEquals("t.yaml:3: .Values.nope: no such value (expected: a value in values.yaml, -f or --set)",
                assertThrows(ChartException.class, () -> render("a: 1\nb: 2\nc: {{ .Values.nope }}")).getMessage());
        assertEquals("t.yaml:2: .Values.labels: {app=x} (expected: a string, number or boolean; use toYaml)",
                assertThrows(ChartException.class, () -> render("a: 1\nb: {{ .Values.labels }}")).getMessage());
        assertEquals("t.yaml:2: | upper (expected: quote, indent N or nindent N)",
                assertThrows(ChartException.class, () -> render("\nx: {{ .Values.name | upper }}")).getMessage());
        assertEquals("t.yaml:1: {{ range .Values.args }} (expected: .Values.x or toYaml .Values.x, then | quote, "
                        + "| indent N or | nindent N)",
                assertThrows(ChartException.class, () -> render("{{ range .Values.args }}x{{ end }}")).getMessage());
        assertEquals("t.yaml:2: {{ if .Values.on }} has no {{ end }}",
                assertThrows(ChartException.class, () -> render("a\n{{ if .Values.on }}x")).getMessage());
        assertEquals("t.yaml:1: {{ if eq .Values.rev \"x\" }} (expected: if .Values.x or if not .Values.x)",
                assertThrows(ChartException.class, () -> render("{{ if eq .Values.rev \"x\" }}{{ end }}")).getMessage());
    }
}
