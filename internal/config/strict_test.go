package config

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type strictDoc struct {
	Name  string          `json:"name"`
	Items []strictItem    `json:"items,omitempty"`
	Wait  metav1.Duration `json:"wait,omitempty"`
}

type strictItem struct {
	Port int32  `json:"port,omitempty"`
	Role string `json:"role,omitempty"`
}

func TestDecodeStrictYAML(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
		want []string
	}{
		{name: "ok", data: "name: a\nitems:\n- port: 22\n"},
		{name: "leading separator", data: "---\nname: a\n"},
		{
			name: "unknown and wrong type, by line",
			data: "name: a\nitems:\n- port: x\n- rol: worker\n",
			want: []string{
				`line 3: items[0].port: invalid value "x": expected an integer (int32)`,
				`line 4: items[1].rol: unknown field (did you mean "role"?); items[1] accepts port, role`,
			},
		},
		{name: "string needs quotes", data: "name: 12\n", want: []string{"line 1: name: invalid value 12: expected a string; put the value in quotes"}},
		{name: "duplicate key", data: "name: a\nname: b\n", want: []string{"invalid YAML: yaml: unmarshal errors:\n  line 2: key \"name\" already set in map"}},
		{name: "line offset after leading comment and separator", data: "# c\n---\nname: a\nbad: 1\n", want: []string{"line 4: bad: unknown field; the document accepts items, name, wait"}},
		{name: "two documents", data: "name: a\n---\nname: b\n", want: []string{`line 3: the file holds 2 YAML documents; give exactly one (remove the "---" before line 3)`}},
		{name: "empty", data: "# nothing\n", want: []string{"the file holds no YAML document"}},
		{name: "duration", data: "name: a\nwait: 5\n", want: []string{`line 2: wait: invalid value 5: expected a duration such as "24h0m0s"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strictDoc
			var got []string
			for _, p := range DecodeStrictYAML([]byte(tc.data), &out) {
				got = append(got, p.String())
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestExportedFieldLine(t *testing.T) {
	data := []byte("---\nname: a\nitems:\n- port: 1\n- role: worker\n")
	if got := FieldLine(data, "items[1].role"); got != 5 {
		t.Errorf("FieldLine = %d, want 5", got)
	}
	if got := FieldLine(data, "missing"); got != 0 {
		t.Errorf("FieldLine(missing) = %d, want 0", got)
	}
}
