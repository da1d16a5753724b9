package config

import (
	"fmt"
	"sort"
)

// StrictProblem is one problem DecodeStrictYAML found: a value of the wrong
// type, an unknown or duplicate field, or YAML that does not parse.
type StrictProblem struct {
	// Path is the field path ("spec.hosts[2].role"); "" for the document.
	Path string
	// Line is the 1-based line of the field in the data; 0 when unknown.
	Line    int
	Message string
}

// String prints "line <n>: <path>: <message>", leaving out what is unknown.
func (p StrictProblem) String() string {
	s := fieldProblem{path: p.Path, msg: p.Message}.String()
	if p.Line > 0 {
		return fmt.Sprintf("line %d: %s", p.Line, s)
	}
	return s
}

// DecodeStrictYAML decodes data, which must hold exactly one YAML document,
// into out (a pointer) with the rules of kubeadmin's configuration files:
// case-sensitive field names, and every unknown field, duplicate field and
// value of the wrong type reported with its path, its line and what the
// field accepts. It returns the problems ordered by line; none when out was
// filled.
func DecodeStrictYAML(data []byte, out any) []StrictProblem {
	docs := splitDocuments(data)
	switch {
	case len(docs) == 0:
		return []StrictProblem{{Message: "the file holds no YAML document"}}
	case len(docs) > 1:
		return []StrictProblem{{Line: docs[1].line, Message: fmt.Sprintf("the file holds %d YAML documents; give exactly one (remove the \"---\" before line %d)", len(docs), docs[1].line)}}
	}
	d := docs[0]
	js, msg := yamlToJSON(d.yaml, d.line)
	if msg != "" {
		return []StrictProblem{{Message: "invalid YAML: " + msg}}
	}
	var problems []StrictProblem
	for _, p := range decodeStrict(js, out) {
		sp := StrictProblem{Path: p.path, Message: p.msg}
		if p.path != "" {
			if l := fieldLine(d.yaml, p.path); l > 0 {
				sp.Line = l + d.line - 1
			}
		}
		problems = append(problems, sp)
	}
	sort.SliceStable(problems, func(i, j int) bool { return problems[i].Line < problems[j].Line })
	return problems
}

// FieldLine returns the 1-based line of the field at path ("a.b[0].c") in a
// single-document YAML file, or 0 when it is not there.
func FieldLine(data []byte, path string) int {
	docs := splitDocuments(data)
	if len(docs) != 1 {
		return 0
	}
	if l := fieldLine(docs[0].yaml, path); l > 0 {
		return l + docs[0].line - 1
	}
	return 0
}
