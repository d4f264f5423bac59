package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeBlocksConfig writes a configuration with a blocked domain and,
// when listURL is set, a subscription.
func writeBlocksConfig(t *testing.T, listURL string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	cfg := `server:
  public_url: "http://127.0.0.1:8080"
storage:
  dsn: "` + filepath.Join(dir, "bridge.db") + `"
federation:
  allow_private_networks: true
log:
  level: "error"
accounts:
  - username: news
moderation:
  domain_blocks: ["config.example"]
`
	if listURL != "" {
		cfg += "  subscriptions:\n    - url: \"" + listURL + "\"\n"
	}
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func blocks(t *testing.T, path, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := cmdBlocks(context.Background(), path, args, strings.NewReader(stdin), &out, &errb)
	if err != nil {
		t.Logf("stderr: %s", errb.String())
	}
	return out.String(), err
}

func TestBlocksCommands(t *testing.T) {
	list := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/csv")
		w.Write([]byte("#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\nlisted.example,suspend,false,false,spam,false\nquiet.example,silence,false,false,,false\n"))
	}))
	t.Cleanup(list.Close)
	path := writeBlocksConfig(t, list.URL+"/blocks.csv")
	steps := []struct {
		name  string
		stdin string
		args  []string
		want  []string // substrings of the output
		err   bool
	}{
		{name: "list: the configuration's block", args: []string{"list"}, want: []string{"config.example\tsuspend\tconfig"}},
		{name: "add with a reason after the domains", args: []string{"add", "RAID.example", "https://spam.example/@x", "--reason", "raid of May"},
			want: []string{"blocked raid.example, spam.example: 0 follower(s) removed, 0 pending deliveries cancelled"}},
		{name: "add an invalid domain", args: []string{"add", "not a domain"}, err: true},
		{name: "import from stdin", args: []string{"import", "-"}, stdin: "#domain,#severity\nimported.example,suspend\nex*mple.com,suspend\nnoise.example,noop\n",
			want: []string{"imported 1 domain(s): 1 added, 0 updated, 0 unchanged, 2 line(s) skipped"}},
		{name: "preview", args: []string{"preview"}, want: []string{"would add 2", "+ listed.example (suspend)", "+ quiet.example (silence)"}},
		{name: "list before the refresh", args: []string{"list"}, want: []string{"raid.example\tsuspend\tmanual\traid of May", "imported.example\tsuspend\timport"}},
		{name: "refresh", args: []string{"refresh"}, want: []string{"added 2"}},
		{name: "list after the refresh", args: []string{"list"}, want: []string{"listed.example\tsuspend\tsubscription:" + list.URL + "/blocks.csv\tspam", "quiet.example\tsilence"}},
		{name: "remove a manual block", args: []string{"remove", "raid.example"}, want: []string{"unblocked raid.example"}},
		{name: "remove the configuration's block", args: []string{"remove", "config.example"},
			want: []string{"config.example had no block made with add or import", "still blocked or silenced by: config"}},
		{name: "unknown subcommand", args: []string{"frobnicate"}, err: true},
		{name: "remove wants one domain", args: []string{"remove"}, err: true},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			out, err := blocks(t, path, st.stdin, st.args...)
			if (err != nil) != st.err {
				t.Fatalf("err = %v, want error %v; output:\n%s", err, st.err, out)
			}
			for _, w := range st.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
	out, _ := blocks(t, path, "", "list")
	if strings.Contains(out, "raid.example\t") {
		t.Errorf("removed block still listed:\n%s", out)
	}
}
