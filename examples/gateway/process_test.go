package main

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// runMainEnv makes the test binary run main instead of the tests, so that the process
// tests exercise the command itself without a separate build.
const runMainEnv = "AUTHFRAME_GATEWAY_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// command is the gateway binary with env, and none of the gateway's variables inherited,
// listening on addr.
func command(t *testing.T, env ...string) (cmd *exec.Cmd, addr string) {
	t.Helper()
	cmd = exec.Command(os.Args[0])
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AUTHFRAME_UPSTREAM=") && !strings.HasPrefix(kv, "AUTHFRAME_GATEWAY_") && !strings.HasPrefix(kv, "ADDR=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	addr = freeAddr(t)
	cmd.Env = append(cmd.Env, runMainEnv+"=1", "ADDR="+addr)
	cmd.Env = append(cmd.Env, env...)
	return cmd, addr
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func TestBadConfigurationStopsTheGatewayAtOnce(t *testing.T) {
	cases := []struct {
		name string
		env  []string
		want string
	}{
		{"no upstream", nil, "AUTHFRAME_UPSTREAM"},
		{"an upstream that is not a URL", []string{"AUTHFRAME_UPSTREAM=localhost:9000"}, "AUTHFRAME_UPSTREAM"},
		{"a relative public prefix", []string{"AUTHFRAME_UPSTREAM=http://127.0.0.1:9", "AUTHFRAME_GATEWAY_PUBLIC=public"}, "AUTHFRAME_GATEWAY_PUBLIC"},
		{"a rule without a requirement", []string{"AUTHFRAME_UPSTREAM=http://127.0.0.1:9", "AUTHFRAME_GATEWAY_REQUIRE=/admin"}, "AUTHFRAME_GATEWAY_REQUIRE"},
		{"an app variable", []string{"AUTHFRAME_UPSTREAM=http://127.0.0.1:9", "AUTHFRAME_STORE=mongo"}, "AUTHFRAME_STORE"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd, _ := command(t, c.env...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				<-done
				t.Fatal("the gateway started with a bad configuration")
			}
			if err == nil {
				t.Fatalf("exit status 0 for %v", c.env)
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if last := lines[len(lines)-1]; len(lines) != 1 || !strings.Contains(last, c.want) {
				t.Fatalf("output %q is not one line naming %s", out.String(), c.want)
			}
		})
	}
}

// TestTheGatewayRunsAndStops starts the command as it is deployed and stops it with
// SIGINT.
func TestTheGatewayRunsAndStops(t *testing.T) {
	up := newUpstream(t, nil)
	cmd, addr := command(t, "AUTHFRAME_UPSTREAM="+up.URL)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/public/hello")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("GET /public/hello = %d", resp.StatusCode)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway did not start:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if s := up.requests(); len(s) != 1 || s[0].RequestURI != "/public/hello" {
		t.Fatalf("the upstream saw %+v", s)
	}
	resp, err := http.Get("http://" + addr + "/api/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("GET /api/x without a token = %d", resp.StatusCode)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, out.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the gateway did not stop on SIGINT")
	}
}
