package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestGeneratedFilesUpToDate regenerates from errors.txt and compares with
// the checked-in files, so an edit to one without the other fails.
func TestGeneratedFilesUpToDate(t *testing.T) {
	f, err := os.Open("../../errors.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entries, err := parse(f)
	if err != nil {
		t.Fatal(err)
	}
	table, funcs, err := generate(entries)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]byte{"../../errors_table.go": table, "../../errors_new.go": funcs} {
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate in server/jetstream/jsapi", name)
		}
	}
}

func TestParseRejects(t *testing.T) {
	cases := map[string]string{
		"short line":          "10001 400 Name\n",
		"bad number":          "x 400 Name desc\n",
		"duplicate code":      "10001 400 A a\n10001 400 B b\n",
		"duplicate name":      "10001 400 A a\n10002 400 A b\n",
		"unknown placeholder": "10001 400 A value {what}\n",
	}
	for name, in := range cases {
		if _, err := parse(strings.NewReader(in)); err == nil {
			t.Errorf("%s: parse accepted %q", name, in)
		}
	}
	es, err := parse(strings.NewReader("# comment\n\n10001 400 A subject {subject} failed: {err} ({subject})\n"))
	if err != nil || len(es) != 1 || strings.Join(es[0].params, ",") != "subject,err" {
		t.Errorf("parse = %+v, %v", es, err)
	}
}
