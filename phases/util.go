package phases

import (
	"strconv"
	"strings"
)

// parseFlagsEnv turns the kubeadm-flags.env line
// KUBELET_KUBEADM_ARGS="--a=b --c=d" into arguments, as a shell would for
// the unquoted variable in kubeadm's systemd drop-in.
func parseFlagsEnv(env []byte) []string {
	line := strings.TrimSpace(string(env))
	_, value, ok := strings.Cut(line, "=")
	if !ok {
		return nil
	}
	if v, err := strconv.Unquote(value); err == nil {
		value = v
	}
	return strings.Fields(value)
}
