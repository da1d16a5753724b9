package manifests

import (
	"slices"
	"testing"

	"github.com/kubeadmin/kubeadmin/internal/config"
)

func TestArgumentsToCommand(t *testing.T) {
	tests := []struct {
		name      string
		defaults  []config.Arg
		overrides []config.Arg
		want      []string
	}{
		{
			name:     "defaults are sorted by name then value",
			defaults: []config.Arg{{Name: "b", Value: "2"}, {Name: "a", Value: "y"}, {Name: "a", Value: "x"}},
			want:     []string{"--a=x", "--a=y", "--b=2"},
		},
		{
			name:      "override replaces every default of the name and is appended",
			defaults:  []config.Arg{{Name: "a", Value: "1"}, {Name: "a", Value: "2"}, {Name: "z", Value: "3"}},
			overrides: []config.Arg{{Name: "a", Value: "9"}},
			want:      []string{"--z=3", "--a=9"},
		},
		{
			name:      "overrides keep user order and duplicates",
			defaults:  []config.Arg{{Name: "m", Value: "1"}},
			overrides: []config.Arg{{Name: "z", Value: "1"}, {Name: "b", Value: "2"}, {Name: "z", Value: "3"}},
			want:      []string{"--m=1", "--z=1", "--b=2", "--z=3"},
		},
		{
			name:      "empty values render as --name=",
			defaults:  []config.Arg{{Name: "k", Value: ""}},
			overrides: []config.Arg{{Name: "e", Value: ""}},
			want:      []string{"--k=", "--e="},
		},
		{
			name: "nothing",
			want: []string{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.defaults)
			got := ArgumentsToCommand(tc.defaults, tc.overrides)
			if !slices.Equal(got, tc.want) {
				t.Errorf("ArgumentsToCommand() = %q, want %q", got, tc.want)
			}
			if !slices.Equal(in, tc.defaults) {
				t.Errorf("ArgumentsToCommand modified its defaults: %v", tc.defaults)
			}
		})
	}
}
