package main

import (
	"strings"
	"testing"
)

func TestLoopbackURL(t *testing.T) {
	for _, ok := range []string{
		"http://127.0.0.1:8080",
		"http://127.0.0.1:8080/",
		"http://127.1.2.3:9000",
		"http://[::1]:8080",
		"http://localhost:8080",
		"http://LOCALHOST:8080",
	} {
		u, err := loopbackURL(ok)
		if err != nil {
			t.Errorf("loopbackURL(%q): %v", ok, err)
		} else if u.Path != "" {
			t.Errorf("loopbackURL(%q) kept the path %q", ok, u.Path)
		}
	}
	for _, c := range []struct{ url, want string }{
		{"", "required"},
		{"http://10.0.0.1:8080", "not a loopback"},
		{"http://192.168.1.5:8080", "not a loopback"},
		{"http://0.0.0.0:8080", "not a loopback"},
		{"http://[::]:8080", "not a loopback"},
		{"http://example.com:8080", "not a loopback"},
		{"http://localhost.example.com:8080", "not a loopback"},
		{"http://127.0.0.1.nip.io:8080", "not a loopback"},
		{"http://[::ffff:10.0.0.1]:8080", "not a loopback"},
		{"https://127.0.0.1:8080", "scheme"},
		{"127.0.0.1:8080", "scheme"},
		{"http://127.0.0.1", "port"},
		{"http://:8080", "host"},
		{"http://127.0.0.1:8080/v1/classify", "only the scheme"},
		{"http://user@127.0.0.1:8080", "only the scheme"},
	} {
		_, err := loopbackURL(c.url)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("loopbackURL(%q): error %v, want one saying %q", c.url, err, c.want)
		}
	}
}

func TestParseClients(t *testing.T) {
	cs, err := parseClients("1, 8,64")
	if err != nil || len(cs) != 3 || cs[0] != 1 || cs[1] != 8 || cs[2] != 64 {
		t.Errorf("parseClients(\"1, 8,64\") = %v, %v", cs, err)
	}
	for _, bad := range []string{"", "0", "-1", "8,", "x", "5000"} {
		if _, err := parseClients(bad); err == nil {
			t.Errorf("parseClients(%q): no error", bad)
		}
	}
}
