package config

import (
	"fmt"
	"os"
)

// Warn receives every non-fatal problem the package finds while loading,
// defaulting or validating a configuration (an ignored document, a value
// that differs from kubeadm's recommendation, a certificate validity longer
// than the default...). The default prints kubeadm's style of warning to
// standard error; commands and tests may replace it.
var Warn = func(msg string) {
	fmt.Fprintf(os.Stderr, "W %s\n", msg)
}

// warnf formats a warning and hands it to Warn.
func warnf(format string, args ...any) {
	if Warn != nil {
		Warn(fmt.Sprintf(format, args...))
	}
}
