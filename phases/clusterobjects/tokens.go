package clusterobjects

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/client-go/kubernetes"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"
	bootstraputil "k8s.io/cluster-bootstrap/token/util"
	"sigs.k8s.io/yaml"

	"github.com/kubeadmin/kubeadmin/internal/config"
)

// TokenSecret builds the Secret kube-system/bootstrap-token-<id> of t, in the
// format of k8s.io/cluster-bootstrap. The expiration is t.Expires if set,
// else now+TTL; a zero TTL means the token never expires and the key is
// left out.
func TokenSecret(t *config.BootstrapToken, now time.Time) (*corev1.Secret, error) {
	if t.Token == nil || t.Token.ID == "" || t.Token.Secret == "" {
		return nil, fmt.Errorf("invalid bootstrap token: bootstrapTokens[].token is empty; set it to a value of the form %q or leave the token out to generate one", "abcdef.0123456789abcdef")
	}
	data := map[string][]byte{
		bootstrapapi.BootstrapTokenIDKey:     []byte(t.Token.ID),
		bootstrapapi.BootstrapTokenSecretKey: []byte(t.Token.Secret),
	}
	if t.Description != "" {
		data[bootstrapapi.BootstrapTokenDescriptionKey] = []byte(t.Description)
	}
	if exp := tokenExpiration(t, now); exp != "" {
		data[bootstrapapi.BootstrapTokenExpirationKey] = []byte(exp)
	}
	for _, u := range t.Usages {
		data[bootstrapapi.BootstrapTokenUsagePrefix+u] = []byte("true")
	}
	if len(t.Groups) > 0 {
		data[bootstrapapi.BootstrapTokenExtraGroupsKey] = []byte(strings.Join(t.Groups, ","))
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      bootstraputil.BootstrapTokenSecretName(t.Token.ID),
			Namespace: metav1.NamespaceSystem,
		},
		Type: bootstrapapi.SecretTypeBootstrapToken,
		Data: data,
	}, nil
}

// tokenExpiration is the RFC3339 UTC expiration of t, or "" for none.
// Expires wins over TTL, as in kubeadm.
func tokenExpiration(t *config.BootstrapToken, now time.Time) string {
	if t.Expires != nil {
		return t.Expires.Time.UTC().Format(time.RFC3339)
	}
	if t.TTL != nil && t.TTL.Duration > 0 {
		return now.Add(t.TTL.Duration).UTC().Format(time.RFC3339)
	}
	return ""
}

// CreateOrUpdateTokens writes the Secret of every token. With failIfExists
// an existing token with the same ID is an error (`token create`);
// otherwise it is updated (`init`).
func CreateOrUpdateTokens(client kubernetes.Interface, tokens []config.BootstrapToken, failIfExists bool, timeout time.Duration) error {
	secrets := client.CoreV1().Secrets(metav1.NamespaceSystem)
	for i := range tokens {
		s, err := TokenSecret(&tokens[i], time.Now())
		if err != nil {
			return err
		}
		if failIfExists {
			_, err := secrets.Get(context.Background(), s.Name, metav1.GetOptions{})
			if err == nil {
				return fmt.Errorf("a token with id %q already exists", tokens[i].Token.ID)
			}
			if !apierrors.IsNotFound(err) {
				return fmt.Errorf("failed to check whether bootstrap token %q exists: %w", tokens[i].Token.ID, err)
			}
		}
		if err := CreateOrUpdateSecret(client, s, timeout); err != nil {
			return fmt.Errorf("failed to create or update bootstrap token with name %s: %w", s.Name, err)
		}
	}
	return nil
}

// TokenFromSecret parses a bootstrap token Secret back into a
// BootstrapToken (usages sorted, groups nil when empty).
func TokenFromSecret(s *corev1.Secret) (*config.BootstrapToken, error) {
	id := string(s.Data[bootstrapapi.BootstrapTokenIDKey])
	if id == "" {
		return nil, fmt.Errorf("bootstrap Token Secret has no token-id data: %s", s.Name)
	}
	if want := bootstraputil.BootstrapTokenSecretName(id); s.Name != want {
		return nil, fmt.Errorf("bootstrap token name is not of the form '%s(token-id)'. Actual: %q. Expected: %q", bootstrapapi.BootstrapTokenSecretPrefix, s.Name, want)
	}
	secret := string(s.Data[bootstrapapi.BootstrapTokenSecretKey])
	if secret == "" {
		return nil, fmt.Errorf("bootstrap Token Secret has no token-secret data: %s", s.Name)
	}
	if !bootstraputil.IsValidBootstrapToken(id + "." + secret) {
		return nil, fmt.Errorf("bootstrap Token Secret is invalid and couldn't be parsed: %s", s.Name)
	}
	t := &config.BootstrapToken{
		Token:       &config.BootstrapTokenString{ID: id, Secret: secret},
		Description: string(s.Data[bootstrapapi.BootstrapTokenDescriptionKey]),
	}
	if exp := string(s.Data[bootstrapapi.BootstrapTokenExpirationKey]); exp != "" {
		tm, err := time.Parse(time.RFC3339, exp)
		if err != nil {
			return nil, fmt.Errorf("can't parse expiration time of bootstrap token %q: %w", s.Name, err)
		}
		t.Expires = &metav1.Time{Time: tm}
	}
	for k, v := range s.Data {
		if strings.HasPrefix(k, bootstrapapi.BootstrapTokenUsagePrefix) && string(v) == "true" {
			t.Usages = append(t.Usages, strings.TrimPrefix(k, bootstrapapi.BootstrapTokenUsagePrefix))
		}
	}
	sort.Strings(t.Usages)
	if g := string(s.Data[bootstrapapi.BootstrapTokenExtraGroupsKey]); g != "" {
		t.Groups = strings.Split(g, ",")
	}
	return t, nil
}

// ListTokens returns the bootstrap tokens in kube-system. Secrets of the
// token type that do not parse are returned in skipped (kubeadm prints
// them to stderr and goes on).
func ListTokens(client kubernetes.Interface) (tokens []config.BootstrapToken, skipped []error, err error) {
	sel := fields.SelectorFromSet(fields.Set{"type": string(bootstrapapi.SecretTypeBootstrapToken)})
	list, err := client.CoreV1().Secrets(metav1.NamespaceSystem).List(context.Background(), metav1.ListOptions{FieldSelector: sel.String()})
	if err != nil {
		return nil, nil, fmt.Errorf("failed to list bootstrap tokens: %w", err)
	}
	for i := range list.Items {
		// A fake clientset ignores field selectors; filter again.
		if list.Items[i].Type != bootstrapapi.SecretTypeBootstrapToken {
			continue
		}
		t, err := TokenFromSecret(&list.Items[i])
		if err != nil {
			skipped = append(skipped, err)
			continue
		}
		tokens = append(tokens, *t)
	}
	return tokens, skipped, nil
}

// TokenIDOf returns the ID of a token ID or of a full "<id>.<secret>"
// token, or kubeadm's error for anything else.
func TokenIDOf(idOrToken string) (string, error) {
	if bootstraputil.IsValidBootstrapTokenID(idOrToken) {
		return idOrToken, nil
	}
	if !bootstraputil.IsValidBootstrapToken(idOrToken) {
		return "", fmt.Errorf("given token didn't match pattern %q or %q", bootstrapapi.BootstrapTokenPattern, bootstrapapi.BootstrapTokenIDPattern)
	}
	id, _, _ := strings.Cut(idOrToken, ".")
	return id, nil
}

// DeleteToken deletes the token with the given ID, or the ID of the given
// "<id>.<secret>" token, and prints `bootstrap token "<id>" deleted`.
func DeleteToken(client kubernetes.Interface, idOrToken string, out io.Writer) error {
	id, err := TokenIDOf(idOrToken)
	if err != nil {
		return err
	}
	name := bootstraputil.BootstrapTokenSecretName(id)
	if err := client.CoreV1().Secrets(metav1.NamespaceSystem).Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("failed to delete bootstrap token %q: %w (\"kubeadmin token list\" shows the existing tokens)", id, err)
		}
		return fmt.Errorf("failed to delete bootstrap token %q: %w", id, err)
	}
	fmt.Fprintf(out, "bootstrap token %q deleted\n", id)
	return nil
}

// Output formats of `token list -o`.
const (
	TokenOutputText = "text"
	TokenOutputJSON = "json"
	TokenOutputYAML = "yaml"
)

// TokenOutputFormats are the values `token list -o` accepts, sorted.
var TokenOutputFormats = []string{TokenOutputJSON, TokenOutputText, TokenOutputYAML}

// CheckTokenOutputFormat rejects a `token list -o` value PrintTokensAs
// cannot render.
func CheckTokenOutputFormat(format string) error {
	switch format {
	case TokenOutputText, TokenOutputJSON, TokenOutputYAML:
		return nil
	}
	return fmt.Errorf("unable to match a printer suitable for the output format %q, allowed formats are: %s", format, strings.Join(TokenOutputFormats, ","))
}

// PrintTokensAs renders tokens in format: the text table of PrintTokens,
// or one output.kubeadm.k8s.io/v1alpha3 BootstrapToken object per token
// (JSON objects one after the other, YAML documents separated by "---"),
// as kubectl's printers write them for kubeadm.
func PrintTokensAs(out io.Writer, tokens []config.BootstrapToken, format string, now time.Time) error {
	if err := CheckTokenOutputFormat(format); err != nil {
		return err
	}
	if format == TokenOutputText {
		return PrintTokens(out, tokens, now)
	}
	for i := range tokens {
		obj := config.NewBootstrapTokenOutput(tokens[i])
		var b []byte
		var err error
		if format == TokenOutputJSON {
			b, err = json.MarshalIndent(obj, "", "    ")
			b = append(b, '\n')
		} else {
			b, err = yaml.Marshal(obj)
			if i > 0 {
				b = append([]byte("---\n"), b...)
			}
		}
		if err != nil {
			return fmt.Errorf("unable to print token %s: %w", tokens[i].Token, err)
		}
		if _, err := out.Write(b); err != nil {
			return fmt.Errorf("unable to print token %s: %w", tokens[i].Token, err)
		}
	}
	return nil
}

// tokenColumns is the header of `token list`.
var tokenColumns = []string{"TOKEN", "TTL", "EXPIRES", "USAGES", "DESCRIPTION", "EXTRA GROUPS"}

// PrintTokens renders tokens like `kubeadm token list`: the header, then
// one line per token, TTL relative to now.
func PrintTokens(out io.Writer, tokens []config.BootstrapToken, now time.Time) error {
	// kubeadm flushes one tabwriter per token, the header sharing the first.
	header := true
	for i := range tokens {
		tw := tabwriter.NewWriter(out, 10, 4, 3, ' ', 0)
		if header {
			fmt.Fprintln(tw, strings.Join(tokenColumns, "\t"))
			header = false
		}
		fmt.Fprint(tw, formatToken(&tokens[i], now))
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("failed to print token %s: %w", tokens[i].Token, err)
		}
	}
	return nil
}

// formatToken is one tab-separated line of `token list`.
func formatToken(t *config.BootstrapToken, now time.Time) string {
	ttl, expires := "<forever>", "<never>"
	if t.Expires != nil {
		ttl = duration.ShortHumanDuration(t.Expires.Time.Sub(now))
		expires = t.Expires.Format(time.RFC3339)
	}
	or := func(s string) string {
		if s == "" {
			return "<none>"
		}
		return s
	}
	token := ""
	if t.Token != nil {
		token = t.Token.String()
	}
	return fmt.Sprintf("%s\t%-9s\t%s\t%-22s\t%-56s\t%s\n", token, ttl, expires,
		or(strings.Join(t.Usages, ",")), or(t.Description), or(strings.Join(t.Groups, ",")))
}
