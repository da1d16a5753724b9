package config

import (
	"strconv"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
)

// fieldLine returns the 1-based line, within a YAML document, of the key
// (or list item) at path "a.b[0].c", or 0 when it cannot be found (for
// example in a JSON document written on one line, it is 1).
func fieldLine(doc []byte, path string) int {
	var root yamlv3.Node
	if err := yamlv3.Unmarshal(doc, &root); err != nil || len(root.Content) == 0 {
		return 0
	}
	node, line := root.Content[0], 0
	for _, seg := range strings.Split(path, ".") {
		name, rest, _ := strings.Cut(seg, "[")
		if name != "" {
			key, value := mappingEntry(node, name)
			if key == nil {
				return 0
			}
			node, line = value, key.Line
		}
		for rest != "" {
			idx, after, ok := strings.Cut(rest, "]")
			i, err := strconv.Atoi(idx)
			if !ok || err != nil || node.Kind != yamlv3.SequenceNode || i < 0 || i >= len(node.Content) {
				return 0
			}
			node, line = node.Content[i], node.Content[i].Line
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return line
}

// mappingEntry finds key name in a mapping node (following aliases).
func mappingEntry(node *yamlv3.Node, name string) (key, value *yamlv3.Node) {
	for node != nil && node.Kind == yamlv3.AliasNode {
		node = node.Alias
	}
	if node == nil || node.Kind != yamlv3.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(node.Content); i += 2 {
		if node.Content[i].Value == name {
			return node.Content[i], node.Content[i+1]
		}
	}
	return nil, nil
}
