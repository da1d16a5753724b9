package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	kubeproxyv1alpha1 "k8s.io/kube-proxy/config/v1alpha1"
	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"
	"sigs.k8s.io/yaml"

	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// Groups of the component configuration APIs.
const (
	kubeletGroup   = "kubelet.config.k8s.io"
	kubeProxyGroup = "kubeproxy.config.k8s.io"
)

// removedAPIVersions maps kubeadm API versions that kubeadm v1.37 no longer
// reads to the last kubeadm release that reads them.
var removedAPIVersions = map[string]string{
	"kubeadm.k8s.io/v1alpha1": "v1.11",
	"kubeadm.k8s.io/v1alpha2": "v1.12",
	"kubeadm.k8s.io/v1alpha3": "v1.14",
	"kubeadm.k8s.io/v1beta1":  "v1.15",
	"kubeadm.k8s.io/v1beta2":  "v1.22",
	"kubeadm.k8s.io/v1beta3":  "v1.36",
}

// kubeadmKinds are the kinds of kubeadm.k8s.io/v1beta4, in kubeadm's order.
var kubeadmKinds = []string{KindInit, KindCluster, KindJoin, KindReset, KindUpgrade}

// document is one non-empty YAML document of a configuration file.
type document struct {
	index      int // 1-based position among the non-empty documents
	line       int // 1-based line of the file where the document starts
	yaml       []byte
	json       []byte
	apiVersion string
	kind       string
}

// where names the document in error messages.
func (d *document) where() string {
	if d.kind != "" {
		return fmt.Sprintf("document %d (%s) at line %d", d.index, d.kind, d.line)
	}
	return fmt.Sprintf("document %d at line %d", d.index, d.line)
}

// describe formats the document's problems, ordered by line.
func (d *document) describe(problems []fieldProblem) []string {
	type located struct {
		line int
		text string
	}
	list := make([]located, len(problems))
	for i, p := range problems {
		line := 0
		if p.path != "" {
			line = fieldLine(d.yaml, p.path)
		}
		where := d.where()
		if line > 0 {
			where = fmt.Sprintf("document %d (%s) line %d", d.index, d.kind, line+d.line-1)
		}
		list[i] = located{line, where + ": " + p.String()}
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].line < list[j].line })
	out := make([]string, len(list))
	for i, l := range list {
		out[i] = l.text
	}
	return out
}

// parsedFile holds every document of a file, decoded strictly.
type parsedFile struct {
	source    string
	docs      []*document
	byKind    map[string]*document
	init      *InitConfiguration
	cluster   *ClusterConfiguration
	join      *JoinConfiguration
	reset     *ResetConfiguration
	kubelet   *kubeletv1beta1.KubeletConfiguration
	kubeProxy *kubeproxyv1alpha1.KubeProxyConfiguration
}

// LoadError is returned when a configuration file cannot be read, parsed or
// decoded. Problems lists every problem found, each naming the document and
// the field.
type LoadError struct {
	Source   string
	Problems []string
}

// Error lists the problems, one per line when there are several.
func (e *LoadError) Error() string {
	if len(e.Problems) == 1 {
		return fmt.Sprintf("failed to load config file %q: %s", e.Source, e.Problems[0])
	}
	return fmt.Sprintf("failed to load config file %q:\n\t- %s", e.Source, strings.Join(e.Problems, "\n\t- "))
}

// LoadInitConfigFile reads a configuration file for `kubeadmin init`. See
// ParseInitConfig.
func LoadInitConfigFile(path string) (*InitConfig, error) {
	data, err := readConfigFile(path)
	if err != nil {
		return nil, err
	}
	return ParseInitConfig(data, path)
}

// LoadJoinConfigFile reads a configuration file for `kubeadmin join`. See
// ParseJoinConfig.
func LoadJoinConfigFile(path string) (*JoinConfiguration, error) {
	data, err := readConfigFile(path)
	if err != nil {
		return nil, err
	}
	return ParseJoinConfig(data, path)
}

// LoadResetConfigFile reads a configuration file for `kubeadmin reset`. See
// ParseResetConfig.
func LoadResetConfigFile(path string) (*ResetConfiguration, error) {
	data, err := readConfigFile(path)
	if err != nil {
		return nil, err
	}
	return ParseResetConfig(data, path)
}

func readConfigFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("failed to read config file %q: %w", path, err)
	}
	return data, nil
}

// DefaultInitConfig returns the statically defaulted configuration that
// `kubeadmin init` uses without --config. As in kubeadm, its one bootstrap
// token carries constants.DefaultInitTokenDescription (a token from a
// configuration file has no description unless the file gives one).
func DefaultInitConfig() *InitConfig {
	cfg := &InitConfig{}
	cfg.Init.BootstrapTokens = []BootstrapToken{{Description: constants.DefaultInitTokenDescription}}
	SetDefaultsInit(&cfg.Init)
	SetDefaultsCluster(&cfg.Cluster)
	return cfg
}

// DefaultJoinConfig returns a statically defaulted JoinConfiguration.
func DefaultJoinConfig() *JoinConfiguration {
	cfg := &JoinConfiguration{}
	SetDefaultsJoin(cfg)
	return cfg
}

// DefaultResetConfig returns a statically defaulted ResetConfiguration.
func DefaultResetConfig() *ResetConfiguration {
	cfg := &ResetConfiguration{}
	SetDefaultsReset(cfg)
	return cfg
}

// ParseInitConfig decodes the documents of a configuration file for
// `kubeadmin init` (source names the file in messages). It uses the
// InitConfiguration, ClusterConfiguration, KubeletConfiguration and
// KubeProxyConfiguration documents; a file with only a ClusterConfiguration
// is fine. Other kubeadm kinds are ignored with a warning, as kubeadm does.
// Unlike kubeadm, an unknown field, kind or API version is an error.
// Static defaults are applied; dynamic defaults are not (see
// SetDynamicDefaultsInit).
func ParseInitConfig(data []byte, source string) (*InitConfig, error) {
	pf, err := parseFile(data, source)
	if err != nil {
		return nil, err
	}
	cfg, err := pf.initConfig()
	if err != nil {
		return nil, err
	}
	pf.warnIgnored(KindInit, KindCluster, KindKubelet, KindKubeProxy)
	return cfg, nil
}

func (pf *parsedFile) initConfig() (*InitConfig, error) {
	if pf.init == nil && pf.cluster == nil {
		return nil, &LoadError{Source: pf.source, Problems: []string{
			"no InitConfiguration or ClusterConfiguration kind was found; add a document with \"apiVersion: " + APIVersion + "\" and \"kind: " + KindInit + "\" or \"kind: " + KindCluster + "\""}}
	}
	cfg := &InitConfig{}
	if pf.init != nil {
		cfg.Init = *pf.init
	}
	if pf.cluster != nil {
		cfg.Cluster = *pf.cluster
	}
	SetDefaultsInit(&cfg.Init)
	SetDefaultsCluster(&cfg.Cluster)
	cfg.Components = ComponentConfigs{
		Kubelet:               pf.kubelet,
		KubeProxy:             pf.kubeProxy,
		KubeletUserSupplied:   pf.kubelet != nil,
		KubeProxyUserSupplied: pf.kubeProxy != nil,
	}
	return cfg, nil
}

// ParseJoinConfig decodes the JoinConfiguration of a configuration file for
// `kubeadmin join` and applies the static defaults. Other documents are
// ignored with a warning, as kubeadm does, but must still be valid.
func ParseJoinConfig(data []byte, source string) (*JoinConfiguration, error) {
	pf, err := parseFile(data, source)
	if err != nil {
		return nil, err
	}
	cfg, err := pf.joinConfig()
	if err != nil {
		return nil, err
	}
	pf.warnIgnored(KindJoin)
	return cfg, nil
}

func (pf *parsedFile) joinConfig() (*JoinConfiguration, error) {
	if pf.join == nil {
		return nil, &LoadError{Source: pf.source, Problems: []string{
			"no JoinConfiguration kind was found; add a document with \"apiVersion: " + APIVersion + "\" and \"kind: " + KindJoin + "\""}}
	}
	cfg := *pf.join
	SetDefaultsJoin(&cfg)
	return &cfg, nil
}

// ParseResetConfig decodes the ResetConfiguration of a configuration file for
// `kubeadmin reset` and applies the static defaults. Other documents are
// ignored with a warning, as kubeadm does, but must still be valid.
func ParseResetConfig(data []byte, source string) (*ResetConfiguration, error) {
	pf, err := parseFile(data, source)
	if err != nil {
		return nil, err
	}
	cfg, err := pf.resetConfig()
	if err != nil {
		return nil, err
	}
	pf.warnIgnored(KindReset)
	return cfg, nil
}

func (pf *parsedFile) resetConfig() (*ResetConfiguration, error) {
	if pf.reset == nil {
		return nil, &LoadError{Source: pf.source, Problems: []string{
			"no ResetConfiguration kind was found; add a document with \"apiVersion: " + APIVersion + "\" and \"kind: " + KindReset + "\""}}
	}
	cfg := *pf.reset
	SetDefaultsReset(&cfg)
	return &cfg, nil
}

// ValidateConfigFile is `kubeadmin config validate`: it decodes every
// document of data strictly, applies static and dynamic defaults to each
// InitConfiguration/ClusterConfiguration, JoinConfiguration and
// ResetConfiguration found, and validates them. It returns nil when all is
// well (the command then prints "ok").
func ValidateConfigFile(data []byte, source string, opts DynamicOptions) error {
	pf, err := parseFile(data, source)
	if err != nil {
		return err
	}
	var errs []error
	found := false
	if pf.init != nil || pf.cluster != nil {
		found = true
		errs = append(errs, validateStage(source, KindInit, func() error {
			cfg, err := pf.initConfig()
			if err == nil {
				err = SetDynamicDefaultsInit(cfg, opts)
			}
			if err == nil {
				err = ValidateInitConfig(cfg)
			}
			return err
		}))
	}
	if pf.join != nil {
		found = true
		errs = append(errs, validateStage(source, KindJoin, func() error {
			cfg, err := pf.joinConfig()
			if err == nil {
				err = SetDynamicDefaultsJoin(cfg, opts)
			}
			if err == nil {
				err = ValidateJoinConfig(cfg)
			}
			return err
		}))
	}
	if pf.reset != nil {
		found = true
		errs = append(errs, validateStage(source, KindReset, func() error {
			cfg, err := pf.resetConfig()
			if err == nil {
				err = SetDynamicDefaultsReset(cfg, opts)
			}
			if err == nil {
				err = ValidateResetConfig(cfg)
			}
			return err
		}))
	}
	if !found {
		return &LoadError{Source: source, Problems: []string{"no InitConfiguration, ClusterConfiguration, JoinConfiguration or ResetConfiguration kind was found"}}
	}
	return errors.Join(errs...)
}

func validateStage(source, kind string, fn func() error) error {
	if err := fn(); err != nil {
		var le *LoadError
		if errors.As(err, &le) {
			return err
		}
		return fmt.Errorf("invalid %s in %q:\n%w", kind, source, err)
	}
	return nil
}

// warnIgnored warns about every document whose kind is not in used.
func (pf *parsedFile) warnIgnored(used ...string) {
	for _, d := range pf.docs {
		if !contains(used, d.kind) {
			warnf("[config] WARNING: Ignored configuration document with GroupVersionKind %s, Kind=%s (%s of %q)",
				d.apiVersion, d.kind, d.where(), pf.source)
		}
	}
}

// parseFile splits data into documents, checks their apiVersion and kind,
// rejects duplicates and decodes every known document strictly. It
// collects all problems before failing.
func parseFile(data []byte, source string) (*parsedFile, error) {
	pf := &parsedFile{source: source, byKind: map[string]*document{}}
	var problems []string
	for _, d := range splitDocuments(data) {
		if err := d.toJSON(); err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if err := d.readTypeMeta(); err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if prev, ok := pf.byKind[d.kind]; ok {
			problems = append(problems, fmt.Sprintf("%s: kind %q is specified twice (also %s); keep only one", d.where(), d.kind, prev.where()))
			continue
		}
		pf.byKind[d.kind] = d
		pf.docs = append(pf.docs, d)
		problems = append(problems, d.describe(pf.decode(d))...)
	}
	if len(problems) > 0 {
		return nil, &LoadError{Source: source, Problems: problems}
	}
	return pf, nil
}

// decode checks the document's API version and decodes it into its type.
func (pf *parsedFile) decode(d *document) []fieldProblem {
	if p := checkAPIVersion(d.apiVersion, d.kind); p != "" {
		return []fieldProblem{{msg: p}}
	}
	switch d.kind {
	case KindInit:
		pf.init = &InitConfiguration{}
		return decodeStrict(d.json, pf.init)
	case KindCluster:
		pf.cluster = &ClusterConfiguration{}
		return decodeStrict(d.json, pf.cluster)
	case KindJoin:
		pf.join = &JoinConfiguration{}
		return decodeStrict(d.json, pf.join)
	case KindReset:
		pf.reset = &ResetConfiguration{}
		return decodeStrict(d.json, pf.reset)
	case KindKubelet:
		pf.kubelet = &kubeletv1beta1.KubeletConfiguration{}
		return decodeStrict(d.json, pf.kubelet)
	case KindKubeProxy:
		pf.kubeProxy = &kubeproxyv1alpha1.KubeProxyConfiguration{}
		return decodeStrict(d.json, pf.kubeProxy)
	}
	// UpgradeConfiguration: kubeadmin has no upgrade command; the document
	// is accepted and ignored.
	return nil
}

// acceptedAPIs describes, for messages, every document kubeadmin reads.
const acceptedAPIs = APIVersion + " (" + KindInit + ", " + KindCluster + ", " + KindJoin + ", " + KindReset + ", " + KindUpgrade +
	"), " + KubeletAPI + " " + KindKubelet + " and " + KubeProxyAPI + " " + KindKubeProxy

// checkAPIVersion returns a problem when apiVersion/kind is not a document
// kubeadmin reads, or "" when it is.
func checkAPIVersion(apiVersion, kind string) string {
	group, version, _ := strings.Cut(apiVersion, "/")
	switch group {
	case GroupName:
		if last, ok := removedAPIVersions[apiVersion]; ok {
			return fmt.Sprintf("apiVersion %q is no longer supported (kubeadm %s was the last release to read it; kubeadm v1.37 removed it): "+
				"rewrite this document as %q (kubeadm %s's 'kubeadm config migrate --old-config <file>' prints the converted file)",
				apiVersion, last, APIVersion, last)
		}
		if version == "v1" {
			return fmt.Sprintf("apiVersion %q is experimental and not allowed; use %q", apiVersion, APIVersion)
		}
		if version != Version {
			return fmt.Sprintf("unknown apiVersion %q; use %q", apiVersion, APIVersion)
		}
		if !contains(kubeadmKinds, kind) {
			return fmt.Sprintf("unknown kind %q for apiVersion %q; use one of %s", kind, apiVersion, strings.Join(kubeadmKinds, ", "))
		}
		return ""
	case kubeletGroup:
		return checkComponentAPI(apiVersion, kind, KubeletAPI, KindKubelet)
	case kubeProxyGroup:
		return checkComponentAPI(apiVersion, kind, KubeProxyAPI, KindKubeProxy)
	}
	return fmt.Sprintf("unknown configuration API (apiVersion %q, kind %q); kubeadmin reads %s", apiVersion, kind, acceptedAPIs)
}

func checkComponentAPI(apiVersion, kind, wantAPI, wantKind string) string {
	if kind != wantKind {
		return fmt.Sprintf("unknown kind %q for apiVersion %q; only %s %s can be given", kind, apiVersion, wantAPI, wantKind)
	}
	if apiVersion != wantAPI {
		return fmt.Sprintf("unsupported apiVersion %q for %s; convert the document to %q", apiVersion, kind, wantAPI)
	}
	return ""
}

// splitDocuments splits a multi-document YAML file at "---" lines. Blank
// documents (only spaces and comments) are dropped.
func splitDocuments(data []byte) []*document {
	var docs []*document
	var cur bytes.Buffer
	start, blank := 1, true
	flush := func() {
		if !blank {
			docs = append(docs, &document{index: len(docs) + 1, line: start, yaml: append([]byte(nil), cur.Bytes()...)})
		}
		cur.Reset()
		blank = true
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	for i, line := range lines {
		if isDocumentSeparator(line) {
			flush()
			start = i + 2
			continue
		}
		if blank && !isBlankYAMLLine(line) {
			blank = false
			// Keep line numbers of the YAML parser relative to start.
		}
		cur.Write(line)
	}
	flush()
	return docs
}

func isDocumentSeparator(line []byte) bool {
	if !bytes.HasPrefix(line, []byte("---")) {
		return false
	}
	rest := strings.TrimSpace(string(line[3:]))
	return rest == "" || strings.HasPrefix(rest, "#")
}

func isBlankYAMLLine(line []byte) bool {
	s := strings.TrimSpace(string(line))
	return s == "" || strings.HasPrefix(s, "#")
}

var (
	yamlLineRE = regexp.MustCompile(`line (\d+)`)
	// kindLineRE finds the kind of a document that is not valid YAML, to
	// name it in the message.
	kindLineRE = regexp.MustCompile(`(?m)^kind:[ \t]*(\S+)[ \t]*$`)
)

// toJSON converts the document to JSON, rejecting duplicate keys. Line
// numbers in YAML errors are made relative to the file.
func (d *document) toJSON() error {
	js, msg := yamlToJSON(d.yaml, d.line)
	if msg != "" {
		if m := kindLineRE.FindSubmatch(d.yaml); m != nil {
			d.kind = strings.Trim(string(m[1]), `"'`)
		}
		return fmt.Errorf("%s: invalid YAML: %s", d.where(), msg)
	}
	d.json = js
	return nil
}

// yamlToJSON converts one YAML document that starts at line firstLine of
// its file to JSON, rejecting duplicate keys. On failure it returns the
// parser's message with line numbers made relative to the file.
func yamlToJSON(doc []byte, firstLine int) ([]byte, string) {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err == nil {
		return js, ""
	}
	return nil, yamlLineRE.ReplaceAllStringFunc(err.Error(), func(m string) string {
		n, convErr := strconv.Atoi(strings.TrimPrefix(m, "line "))
		if convErr != nil {
			return m
		}
		return fmt.Sprintf("line %d", n+firstLine-1)
	})
}

// readTypeMeta reads apiVersion and kind, which every document must have.
func (d *document) readTypeMeta() error {
	var tm map[string]json.RawMessage
	if err := json.Unmarshal(d.json, &tm); err != nil || tm == nil {
		return fmt.Errorf("%s: expected a mapping with apiVersion and kind, got %s", d.where(), describeJSON(d.json))
	}
	for field, dst := range map[string]*string{"apiVersion": &d.apiVersion, "kind": &d.kind} {
		raw, ok := tm[field]
		if !ok {
			continue
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return fmt.Errorf("%s: %s: invalid value %s: expected a string", d.where(), field, truncate(string(raw)))
		}
	}
	if d.apiVersion == "" || d.kind == "" {
		return fmt.Errorf("%s: apiVersion and kind are required (got apiVersion %q, kind %q); for example \"apiVersion: %s\" and \"kind: %s\"",
			d.where(), d.apiVersion, d.kind, APIVersion, KindInit)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
