package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/kubernetes"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/clientcmd"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"
	bootstraputil "k8s.io/cluster-bootstrap/token/util"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/internal/fsutil"
	"github.com/kubeadmin/kubeadmin/phases"
	"github.com/kubeadmin/kubeadmin/phases/clusterobjects"
)

// Flag names of the token commands not shared with init.
const (
	flagTokenTTL           = "ttl"
	flagTokenUsages        = "usages"
	flagTokenGroups        = "groups"
	flagTokenDescription   = "description"
	flagPrintJoinCommand   = "print-join-command"
	flagOutput             = "output"
	flagShowManagedFields  = "show-managed-fields"
	flagAllowMissingTmplKs = "allow-missing-template-keys"
)

// tokenClientFactory builds the API client of the token commands from a
// kubeconfig path; tests pass one that returns a fake clientset.
type tokenClientFactory func(kubeconfigPath string) (kubernetes.Interface, error)

// tokenOptions are the persistent flags of `kubeadmin token` and what its
// subcommands share.
type tokenOptions struct {
	kubeconfig string
	dryRun     bool
	newClient  tokenClientFactory
	now        func() time.Time
	out        io.Writer
	errOut     io.Writer
	// adminKubeconfig is the last place the kubeconfig is looked for.
	adminKubeconfig string

	// unseeded is the dry-run fake's store when the cluster's tokens could
	// not be read into it.
	unseeded k8stesting.ObjectTracker
}

// tokenCreateOptions are the flags of `token create`.
type tokenCreateOptions struct {
	configPath       string
	printJoinCommand bool
	certificateKey   string
	ttl              time.Duration
	usages           []string
	groups           []string
	description      string
}

// newCmdToken returns `kubeadmin token` talking to the cluster of the
// resolved kubeconfig.
func newCmdToken(out, errOut io.Writer) *cobra.Command {
	return newTokenCommand(&tokenOptions{
		newClient:       func(path string) (kubernetes.Interface, error) { return phases.ClientFromKubeconfig(path, "") },
		now:             time.Now,
		out:             out,
		errOut:          errOut,
		adminKubeconfig: adminKubeconfigPath(),
	})
}

func newTokenCommand(o *tokenOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Manage bootstrap tokens",
		Long: `This command manages bootstrap tokens. It is optional and needed only for advanced use cases.

In short, bootstrap tokens are used for establishing bidirectional trust between a client and a server.
A bootstrap token can be used when a client (for example a node that is about to join the cluster) needs
to trust the server it is talking to. Then a bootstrap token with the "signing" usage can be used.
bootstrap tokens can also function as a way to allow short-lived authentication to the API Server
(the token serves as a way for the API Server to trust the client), for example for doing the TLS Bootstrap.

What is a bootstrap token more exactly?
 - It is a Secret in the kube-system namespace of type "bootstrap.kubernetes.io/token".
 - A bootstrap token must be of the form "[a-z0-9]{6}.[a-z0-9]{16}". The former part is the public token ID,
   while the latter is the Token Secret and it must be kept private at all circumstances!
 - The name of the Secret must be named "bootstrap-token-(token-id)".

You can read more about bootstrap tokens here:
  https://kubernetes.io/docs/admin/bootstrap-tokens/
`,
		RunE: requireSubcommand,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&o.kubeconfig, phases.FlagKubeconfig, "",
		"The kubeconfig file to use when talking to the cluster. If the flag is not set, the first existing file of $KUBECONFIG, $HOME/.kube/config and "+adminKubeconfigPath()+" is used.")
	pf.BoolVar(&o.dryRun, phases.FlagDryRun, false, "Whether to enable dry-run mode or not")
	cmd.AddCommand(newCmdTokenCreate(o), newCmdTokenList(o), newCmdTokenDelete(o), newCmdTokenGenerate(o))
	return cmd
}

func adminKubeconfigPath() string {
	return filepath.Join(constants.KubernetesDir, constants.AdminKubeConfigFile)
}

func newCmdTokenCreate(o *tokenOptions) *cobra.Command {
	c := &tokenCreateOptions{}
	cmd := &cobra.Command{
		Use:                   "create [token]",
		DisableFlagsInUseLine: true,
		Short:                 "Create bootstrap tokens on the server",
		Long: `This command will create a bootstrap token for you.
You can specify the usages for this token, the "time to live" and an optional human friendly description.

The [token] is the actual token to write.
This should be a securely generated random token of the form "[a-z0-9]{6}.[a-z0-9]{16}".
If no [token] is given, kubeadmin will generate a random token instead.
`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.runCreate(c, args, changedFlags(cmd.Flags()))
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.configPath, phases.FlagConfig, "", "Path to a kubeadm configuration file.")
	f.BoolVar(&c.printJoinCommand, flagPrintJoinCommand, false, "Instead of printing only the token, print the full 'kubeadmin join' flag needed to join the cluster using the token.")
	f.StringVar(&c.certificateKey, phases.FlagCertificateKey, "", "When used together with '--print-join-command', print the full 'kubeadmin join' flag needed to join the cluster as a control-plane. To create a new certificate key you must use 'kubeadmin init phase upload-certs --upload-certs'.")
	f.DurationVar(&c.ttl, flagTokenTTL, constants.DefaultTokenDuration, "The duration before the token is automatically deleted (e.g. 1s, 2m, 3h). If set to '0', the token will never expire")
	f.StringSliceVar(&c.usages, flagTokenUsages, append([]string(nil), bootstrapapi.KnownTokenUsages...),
		fmt.Sprintf("Describes the ways in which this token can be used. You can pass --usages multiple times or provide a comma separated list of options. Valid options: [%s]", strings.Join(bootstrapapi.KnownTokenUsages, ",")))
	f.StringSliceVar(&c.groups, flagTokenGroups, []string{constants.NodeBootstrapTokenAuthGroup},
		fmt.Sprintf("Extra groups that this token will authenticate as when used for authentication. Must match %q", bootstrapapi.BootstrapGroupPattern))
	f.StringVar(&c.description, flagTokenDescription, "", "A human friendly description of how this token is used.")
	return cmd
}

func newCmdTokenList(o *tokenOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List bootstrap tokens on the server",
		Long:  "This command will list all bootstrap tokens for you.\n",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return o.runList(output)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&output, flagOutput, "o", clusterobjects.TokenOutputText,
		"Output format. One of: "+strings.Join([]string{clusterobjects.TokenOutputText, clusterobjects.TokenOutputJSON, clusterobjects.TokenOutputYAML}, "|")+".")
	// kubeadm's printer flags, accepted so that scripts written for kubeadm
	// run: the output objects carry no managedFields and no template
	// formats exist here, so neither changes anything.
	f.Bool(flagShowManagedFields, false, "")
	f.Bool(flagAllowMissingTmplKs, true, "")
	_ = f.MarkHidden(flagShowManagedFields)
	_ = f.MarkHidden(flagAllowMissingTmplKs)
	return cmd
}

func newCmdTokenDelete(o *tokenOptions) *cobra.Command {
	return &cobra.Command{
		Use:                   "delete [token-value] ...",
		DisableFlagsInUseLine: true,
		Short:                 "Delete bootstrap tokens on the server",
		Long: `This command will delete a list of bootstrap tokens for you.

The [token-value] is the full Token of the form "[a-z0-9]{6}.[a-z0-9]{16}" or the
Token ID of the form "[a-z0-9]{6}" to delete.
`,
		RunE: func(_ *cobra.Command, args []string) error {
			return o.runDelete(args)
		},
	}
}

func newCmdTokenGenerate(o *tokenOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "generate",
		Short: "Generate and print a bootstrap token, but do not create it on the server",
		Long: `This command will print out a randomly-generated bootstrap token that can be used with
the "init" and "join" commands.

You don't have to use this command in order to generate a token. You can do so
yourself as long as it is in the format "[a-z0-9]{6}.[a-z0-9]{16}". This
command is provided for convenience to generate tokens in the given format.

You can also use "kubeadmin init" without specifying a token and it will
generate and print one for you.
`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			tok, err := bootstraputil.GenerateBootstrapToken()
			if err != nil {
				return fmt.Errorf("failed to generate a random bootstrap token: %w", err)
			}
			fmt.Fprintln(o.out, tok)
			return nil
		},
	}
}

// runCreate is `token create`: it checks every input before it talks to
// the cluster, and renders the join command before it creates the token, so
// a failure leaves no token behind.
func (o *tokenOptions) runCreate(c *tokenCreateOptions, args []string, changed []string) error {
	if err := config.CheckMixedConfigFlags(c.configPath, changed); err != nil {
		return err
	}
	if c.certificateKey != "" {
		if !c.printJoinCommand {
			return errors.New("cannot use --certificate-key without --print-join-command")
		}
		if err := config.ValidateCertificateKey(c.certificateKey, field.NewPath("--"+phases.FlagCertificateKey)); err != nil {
			return err
		}
	}
	tokens, timeout, err := c.tokens(args)
	if err != nil {
		return err
	}
	client, path, err := o.client()
	if err != nil {
		return err
	}
	line := tokens[0].Token.String()
	if c.printJoinCommand {
		join, err := clusterobjects.JoinCommandFromFile(path, clusterobjects.JoinCommandOptions{
			Token: line, CertificateKey: c.certificateKey, ControlPlane: c.certificateKey != "",
		})
		if err != nil {
			return fmt.Errorf("failed to get join command: %w", err)
		}
		line = clusterobjects.SingleLineJoinCommand(join)
	}
	if err := clusterobjects.CreateOrUpdateTokens(client, tokens, true, timeout); err != nil {
		return o.apiError(err, path)
	}
	fmt.Fprintln(o.out, line)
	return nil
}

// tokens are the tokens to create: those of --config, else one from the
// flags; the [token] argument replaces the first token's value, and empty
// values are generated. They are validated, naming the flags or the
// configuration fields.
func (c *tokenCreateOptions) tokens(args []string) ([]config.BootstrapToken, time.Duration, error) {
	var arg *config.BootstrapTokenString
	if len(args) > 0 {
		if !bootstraputil.IsValidBootstrapToken(args[0]) {
			return nil, 0, fmt.Errorf("the bootstrap token %q was not of the form %q; give a token such as %q, or none to have one generated (see \"kubeadmin token generate\")",
				args[0], bootstrapapi.BootstrapTokenPattern, constants.PlaceholderToken)
		}
		id, secret, _ := strings.Cut(args[0], ".")
		arg = &config.BootstrapTokenString{ID: id, Secret: secret}
	}
	if c.configPath != "" {
		cfg, err := config.LoadInitConfigFile(c.configPath)
		if err != nil {
			return nil, 0, err
		}
		tokens := cfg.Init.BootstrapTokens
		if arg != nil {
			tokens[0].Token = arg
		}
		if err := config.GenerateMissingTokens(tokens); err != nil {
			return nil, 0, err
		}
		if err := config.ValidateBootstrapTokens(tokens); err != nil {
			return nil, 0, fmt.Errorf("invalid bootstrapTokens in %q: %w", c.configPath, err)
		}
		return tokens, clusterobjects.APICallTimeout(cfg.Init.Timeouts), nil
	}
	bt := config.BootstrapToken{
		Token:       arg,
		Description: c.description,
		TTL:         &metav1.Duration{Duration: c.ttl},
		Usages:      c.usages,
		Groups:      c.groups,
	}
	// As in kubeadm, empty --usages or --groups fall back to the defaults.
	config.SetDefaultsBootstrapToken(&bt)
	tokens := []config.BootstrapToken{bt}
	if err := config.GenerateMissingTokens(tokens); err != nil {
		return nil, 0, err
	}
	if errs := config.ValidateBootstrapToken(&tokens[0], nil); len(errs) > 0 {
		// The bare field names are the flag names.
		for _, e := range errs {
			if e.Field != "" {
				e.Field = "--" + e.Field
			}
		}
		return nil, 0, &config.ValidationError{Errors: errs}
	}
	return tokens, constants.KubernetesAPICallTimeout, nil
}

// runList is `token list`: tokens whose Secret does not parse are reported
// on stderr and skipped.
func (o *tokenOptions) runList(output string) error {
	if err := clusterobjects.CheckTokenOutputFormat(output); err != nil {
		return fmt.Errorf("invalid --%s: %w", flagOutput, err)
	}
	client, path, err := o.client()
	if err != nil {
		return err
	}
	tokens, skipped, err := clusterobjects.ListTokens(client)
	if err != nil {
		return o.apiError(err, path)
	}
	for _, e := range skipped {
		fmt.Fprintln(o.errOut, e)
	}
	return clusterobjects.PrintTokensAs(o.out, tokens, output, o.now())
}

// runDelete is `token delete`: every argument is checked before the first
// token is deleted.
func (o *tokenOptions) runDelete(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("missing argument; 'token delete' is missing token of form %q or %q", bootstrapapi.BootstrapTokenPattern, bootstrapapi.BootstrapTokenIDPattern)
	}
	for _, a := range args {
		if _, err := clusterobjects.TokenIDOf(a); err != nil {
			return fmt.Errorf("invalid argument %q: %w", a, err)
		}
	}
	client, path, err := o.client()
	if err != nil {
		return err
	}
	if o.unseeded != nil {
		// Nothing is known of the cluster's tokens: let every delete
		// succeed, as kubeadm's dry run does.
		for _, a := range args {
			id, _ := clusterobjects.TokenIDOf(a)
			stub := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: bootstraputil.BootstrapTokenSecretName(id), Namespace: metav1.NamespaceSystem}}
			if err := o.unseeded.Add(stub); err != nil && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("failed to prepare the dry run: %w", err)
			}
		}
	}
	for _, a := range args {
		if err := clusterobjects.DeleteToken(client, a, o.out); err != nil {
			return o.apiError(err, path)
		}
	}
	return nil
}

// kubeconfigPath is --kubeconfig, else the first existing file of
// client-go's default rules ($KUBECONFIG, else ~/.kube/config) followed by
// /etc/kubernetes/admin.conf.
func (o *tokenOptions) kubeconfigPath() (string, error) {
	if o.kubeconfig != "" {
		return o.kubeconfig, nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.Precedence = append(rules.Precedence, o.adminKubeconfig)
	for _, p := range rules.Precedence {
		if fsutil.Exists(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("no kubeconfig file found (looked for %s); pass --%s with the cluster's admin kubeconfig",
		strings.Join(rules.Precedence, ", "), phases.FlagKubeconfig)
}

// client returns the API client and the kubeconfig it came from. With
// --dry-run it is a fake that prints each call, seeded with the cluster's
// bootstrap tokens when they can be read, so that a dry run fails where the
// real run would (an existing ID on create, an unknown one on delete) and
// lists what is there.
func (o *tokenOptions) client() (kubernetes.Interface, string, error) {
	path, err := o.kubeconfigPath()
	if err != nil {
		return nil, "", err
	}
	live, err := o.newClient(path)
	if err != nil {
		return nil, path, err
	}
	if !o.dryRun {
		return live, path, nil
	}
	fake := phases.DryRunClient(o.out, "")
	withTracker, ok := fake.(interface {
		Tracker() k8stesting.ObjectTracker
	})
	if !ok {
		return nil, path, errors.New("the dry-run client cannot be seeded with the cluster's tokens")
	}
	tracker := withTracker.Tracker()
	sel := fields.OneTermEqualSelector("type", string(bootstrapapi.SecretTypeBootstrapToken)).String()
	list, err := live.CoreV1().Secrets(metav1.NamespaceSystem).List(context.Background(), metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		fmt.Fprintf(o.out, "[dryrun] Could not read the cluster's bootstrap tokens, going on as if there were none: %v\n", o.apiError(err, path))
		o.unseeded = tracker
		return fake, path, nil
	}
	for i := range list.Items {
		if list.Items[i].Type != bootstrapapi.SecretTypeBootstrapToken {
			continue
		}
		if err := tracker.Add(&list.Items[i]); err != nil {
			return nil, path, fmt.Errorf("failed to prepare the dry run with Secret %q: %w", list.Items[i].Name, err)
		}
	}
	return fake, path, nil
}

// apiError adds to a transport failure (refused, timed out, TLS) which API
// server and kubeconfig were used and what to check; other errors are
// returned as they are.
func (o *tokenOptions) apiError(err error, path string) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	server := ue.URL
	if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
		server = u.Scheme + "://" + u.Host
	}
	return fmt.Errorf("%w\ncould not reach the API server %s of kubeconfig %q: check that the control plane is running, or pass --%s with the kubeconfig of the cluster",
		err, server, path, phases.FlagKubeconfig)
}
