package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsjson "sigs.k8s.io/json"
)

// decodeStrict decodes JSON into out (a pointer) the way the Kubernetes API
// machinery does (case-sensitive field names), and returns every problem:
// a value of the wrong type, an unknown field or a duplicate field, each
// prefixed with the field path ("networking.podSubnet: ...").
func decodeStrict(data []byte, out any) []fieldProblem {
	root := reflect.TypeOf(out).Elem()
	strictErrs, err := sigsjson.UnmarshalStrict(data, out)
	if err != nil {
		// The decoder stops at the first bad value: find all of them, and
		// the unknown fields it did not get to report.
		problems := describeDecodeErrors(root, data, err)
		for _, path := range unknownFields(root, data, "") {
			problems = append(problems, describeUnknownField(root, path))
		}
		return problems
	}
	var problems []fieldProblem
	for _, se := range strictErrs {
		problems = append(problems, describeStrictError(root, se))
	}
	return problems
}

// fieldProblem is a decoding problem at a field path ("" for the whole
// document).
type fieldProblem struct {
	path string
	msg  string
}

// String prints "<path>: <msg>".
func (p fieldProblem) String() string {
	if p.path == "" {
		return p.msg
	}
	return p.path + ": " + p.msg
}

// describeStrictError turns an unknown or duplicate field error into a
// message naming the field path and what the field's parent accepts.
func describeStrictError(root reflect.Type, se error) fieldProblem {
	var fe sigsjson.FieldError
	if !errors.As(se, &fe) {
		return fieldProblem{msg: strings.TrimPrefix(se.Error(), "json: ")}
	}
	path := fe.FieldPath()
	if strings.Contains(se.Error(), "duplicate field") {
		return fieldProblem{path: path, msg: "duplicate field; give it only once"}
	}
	return describeUnknownField(root, path)
}

// describeUnknownField names an unknown field, the closest known name and,
// when the list is short, every field its parent accepts.
func describeUnknownField(root reflect.Type, path string) fieldProblem {
	msg := "unknown field"
	parentPath, name := splitLastSegment(path)
	parent := typeAtPath(root, parentPath)
	if parent == nil {
		return fieldProblem{path: path, msg: msg}
	}
	known := jsonFieldNames(parent)
	if s := suggest(name, known); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	if len(known) > 0 && len(known) <= 16 {
		where := "the document"
		if parentPath != "" {
			where = parentPath
		}
		msg += fmt.Sprintf("; %s accepts %s", where, strings.Join(known, ", "))
	}
	return fieldProblem{path: path, msg: msg}
}

// describeDecodeErrors finds every field whose value could not be decoded
// and says what was expected there.
func describeDecodeErrors(root reflect.Type, data []byte, err error) []fieldProblem {
	bad := locateDecodeErrors(root, data, "")
	if len(bad) == 0 {
		return []fieldProblem{{msg: strings.TrimPrefix(err.Error(), "json: ")}}
	}
	var out []fieldProblem
	for _, b := range bad {
		out = append(out, fieldProblem{path: b.path, msg: fmt.Sprintf("invalid value %s: %s", truncate(string(b.raw)), expectation(typeAtPath(root, b.path), b.raw, b.err))})
	}
	return out
}

// badValue is a field whose JSON value does not decode into its type.
type badValue struct {
	path string
	raw  json.RawMessage
	err  error
}

// locateDecodeErrors returns the deepest fields of type t whose JSON values
// do not decode, in path order; none when data decodes.
func locateDecodeErrors(t reflect.Type, data []byte, path string) []badValue {
	err := sigsjson.UnmarshalCaseSensitivePreserveInts(data, reflect.New(t).Interface())
	if err == nil {
		return nil
	}
	leaf := []badValue{{path: path, raw: data, err: err}}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()) {
		return leaf
	}
	var found []badValue
	switch t.Kind() {
	case reflect.Struct:
		var obj map[string]json.RawMessage
		if json.Unmarshal(data, &obj) != nil || obj == nil {
			return leaf
		}
		fields := jsonFields(t)
		for _, key := range sortedKeys(obj) {
			if ft, ok := fields[key]; ok {
				found = append(found, locateDecodeErrors(ft, obj[key], joinPath(path, key))...)
			}
		}
	case reflect.Slice, reflect.Array:
		var list []json.RawMessage
		if json.Unmarshal(data, &list) != nil {
			return leaf
		}
		for i, item := range list {
			found = append(found, locateDecodeErrors(t.Elem(), item, fmt.Sprintf("%s[%d]", path, i))...)
		}
	case reflect.Map:
		var obj map[string]json.RawMessage
		if json.Unmarshal(data, &obj) != nil || obj == nil {
			return leaf
		}
		for _, key := range sortedKeys(obj) {
			found = append(found, locateDecodeErrors(t.Elem(), obj[key], joinPath(path, key))...)
		}
	}
	if len(found) == 0 {
		return leaf
	}
	return found
}

// unknownFields lists the paths of JSON object keys that t does not have.
func unknownFields(t reflect.Type, data []byte, path string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()) {
		return nil
	}
	var out []string
	switch t.Kind() {
	case reflect.Struct:
		var obj map[string]json.RawMessage
		if json.Unmarshal(data, &obj) != nil {
			return nil
		}
		fields := jsonFields(t)
		for _, key := range sortedKeys(obj) {
			ft, ok := fields[key]
			if !ok {
				out = append(out, joinPath(path, key))
				continue
			}
			out = append(out, unknownFields(ft, obj[key], joinPath(path, key))...)
		}
	case reflect.Slice, reflect.Array:
		var list []json.RawMessage
		if json.Unmarshal(data, &list) != nil {
			return nil
		}
		for i, item := range list {
			out = append(out, unknownFields(t.Elem(), item, fmt.Sprintf("%s[%d]", path, i))...)
		}
	case reflect.Map:
		var obj map[string]json.RawMessage
		if json.Unmarshal(data, &obj) != nil {
			return nil
		}
		for _, key := range sortedKeys(obj) {
			out = append(out, unknownFields(t.Elem(), obj[key], joinPath(path, key))...)
		}
	}
	return out
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var (
	durationType = reflect.TypeOf(metav1.Duration{})
	timeType     = reflect.TypeOf(metav1.Time{})
	tokenType    = reflect.TypeOf(BootstrapTokenString{})
	goDuration   = reflect.TypeOf(time.Duration(0))
)

// expectation says what a field of type t accepts, with a hint when a
// scalar needs quoting.
func expectation(t reflect.Type, raw json.RawMessage, err error) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	want := describeType(t)
	if want == "" {
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	msg := "expected " + want
	if t.Kind() == reflect.String && len(raw) > 0 && raw[0] != '"' && raw[0] != '{' && raw[0] != '[' {
		msg += "; put the value in quotes"
	}
	if t == durationType && !strings.Contains(err.Error(), "cannot unmarshal") {
		msg += " (" + strings.TrimPrefix(err.Error(), "json: ") + ")"
	}
	return msg
}

// describeType names the JSON shape of a Go type for messages.
func describeType(t reflect.Type) string {
	switch t {
	case durationType:
		return `a duration such as "24h0m0s"`
	case timeType:
		return `an RFC 3339 time such as "2030-01-02T15:04:05Z"`
	case tokenType:
		return `a bootstrap token "<6 characters>.<16 characters>"`
	case goDuration:
		return "an integer number of nanoseconds"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer (" + t.Kind().String() + ")"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer (" + t.Kind().String() + ")"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping (key: value)"
	}
	return ""
}

// jsonFields maps the JSON names of t's fields (including inlined embedded
// structs) to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return out
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		ft := f.Type
		if f.Anonymous && name == "" {
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					out[k] = v
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

// jsonFieldNames lists the JSON names of t's fields in order.
func jsonFieldNames(t reflect.Type) []string {
	return sortedKeys(jsonFields(t))
}

// typeAtPath walks "a.b[0].c" from t; nil when the path leaves the type.
func typeAtPath(t reflect.Type, path string) reflect.Type {
	if path == "" {
		return t
	}
	for _, seg := range strings.Split(path, ".") {
		name, rest, _ := strings.Cut(seg, "[")
		if name != "" {
			t = fieldOrElem(t, name)
			if t == nil {
				return nil
			}
		}
		for rest != "" { // one "]" per index
			_, after, ok := strings.Cut(rest, "]")
			if !ok {
				return nil
			}
			for t.Kind() == reflect.Pointer {
				t = t.Elem()
			}
			if t.Kind() != reflect.Slice && t.Kind() != reflect.Array {
				return nil
			}
			t = t.Elem()
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return t
}

func fieldOrElem(t reflect.Type, name string) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		return jsonFields(t)[name]
	case reflect.Map:
		return t.Elem()
	}
	return nil
}

// splitLastSegment splits "a.b[0].c" into "a.b[0]" and "c".
func splitLastSegment(path string) (string, string) {
	i := strings.LastIndex(path, ".")
	if i < 0 {
		return "", path
	}
	return path[:i], path[i+1:]
}

// suggest returns the known name closest to name, if it is close enough.
func suggest(name string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if strings.EqualFold(k, name) {
			return k
		}
		if d := editDistance(strings.ToLower(name), strings.ToLower(k)); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// describeJSON names the JSON type of a value for messages.
func describeJSON(data []byte) string {
	s := strings.TrimSpace(string(data))
	switch {
	case s == "" || s == "null":
		return "nothing"
	case s[0] == '[':
		return "a list"
	case s[0] == '"':
		return "a string " + truncate(s)
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return "a number " + s
	}
	return truncate(s)
}

// truncate shortens long values in messages.
func truncate(s string) string {
	const max = 80
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
