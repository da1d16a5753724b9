package config

import (
	"fmt"
	"os"
	"strings"
)

// Warn receives every non-fatal problem the package finds while loading,
// defaulting or validating a configuration (an ignored document, a value
// that differs from kubeadm's recommendation, a certificate validity longer
// than the default...). The default prints kubeadm's style of warning to
// standard error; commands and tests may replace it.
var Warn = func(msg string) {
	if !strings.Contains(msg, "WARNING") {
		msg = "WARNING: " + msg
	}
	fmt.Fprintln(os.Stderr, msg)
}

// warnf formats a warning and hands it to Warn.
func warnf(format string, args ...any) {
	if Warn != nil {
		Warn(fmt.Sprintf(format, args...))
	}
}
