package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/storage"
)

func TestReportsList(t *testing.T) {
	path := writeAPIConfig(t)
	tests := []struct {
		name    string
		args    []string
		want    []string
		notWant []string
		wantErr bool
	}{
		{name: "none yet", args: []string{"list"}, want: []string{"no reports"}},
		{name: "not list", args: []string{"show"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := cli(t, cmdReports, path, tt.args...)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output %q lacks %q", out, w)
				}
			}
		})
	}

	cfg, err := loadConfig(path, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	store, err := storage.Open(ctx, storage.Config{Driver: cfg.Storage.Driver, DSN: cfg.Storage.DSN}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	for i, acc := range []string{"news", "mayor"} {
		if _, _, err := store.InsertReport(ctx, storage.Report{ActivityID: "https://remote.example/flags/" + acc, Account: acc,
			ReporterID: "https://remote.example/actor", Targets: []string{"https://127.0.0.1:8080/users/" + acc},
			Comment: "line one\nline two", CreatedAt: time.Now().Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	store.Close()
	out, err := cli(t, cmdReports, path, "list", "--account", "news")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"account @news", "from https://remote.example/actor", "about https://127.0.0.1:8080/users/news", "  > line two"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "@mayor") {
		t.Errorf("--account news lists mayor's report:\n%s", out)
	}
	if out, _ := cli(t, cmdReports, path, "list", "--limit", "1"); strings.Count(out, "report ") != 1 || !strings.Contains(out, "@mayor") {
		t.Errorf("--limit 1 (newest first):\n%s", out)
	}
}
