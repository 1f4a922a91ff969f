// Command s3server starts, describes and stops the local S3-compatible test server
// (versitygw in IAM mode) that the integration tests, benchmarks and the demo run against.
//
//	s3server start              install versitygw if missing, start it over HTTP and HTTPS,
//	                            provision users and create the bucket s3mpu-local
//	s3server status             exit 0 when the server described by the env file answers
//	s3server stop               stop the processes by PID and remove the server's data
//	s3server env                print the env file's path
//	s3server env -shell [-user NAME]
//	                            print shell exports that point the AWS SDK and the s3mpu CLI
//	                            at the server's HTTPS endpoint as user NAME (default root):
//	                            eval "$(.bin/s3server env -shell)"
//
// Everything a client needs (endpoints, the CA file, each user's keys and ARN) is written to
// one JSON file, integration/.server/env.json by default (see package s3test for a reader).
// The file holds test credentials for a throw-away local server; it is created with mode 0600.
// Its secrets are printed only by `env -shell`, whose output is meant for eval.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

const (
	versitygwModule  = "github.com/versity/versitygw/cmd/versitygw"
	versitygwVersion = "v1.8.0"
	accountID        = "000000000000"
	region           = "us-east-1"
	// Bucket is the bucket start creates, owned by root, for trying the CLI by hand.
	Bucket = "s3mpu-local"
)

// Env is the content of the env file. Package s3test reads the same shape.
type Env struct {
	Region        string          `json:"region"`
	AccountID     string          `json:"account_id"`
	HTTPEndpoint  string          `json:"http_endpoint"`
	HTTPSEndpoint string          `json:"https_endpoint"`
	IAMEndpoint   string          `json:"iam_endpoint"`
	CAFile        string          `json:"ca_file"`
	Users         map[string]User `json:"users"`
	PIDs          []int           `json:"pids"`
	Dir           string          `json:"dir"`
	Version       string          `json:"versitygw_version"`
}

// User is one set of credentials on the server.
type User struct {
	Name      string `json:"name"`
	ARN       string `json:"arn"`
	AccessKey string `json:"access_key"`
	SecretKey string `json:"secret_key"`
}

func main() {
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: s3server [-dir DIR] [-bin DIR] start|status|stop|env [-shell [-user NAME]]\n")
		flag.PrintDefaults()
	}
	root := repoRoot()
	dir := flag.String("dir", filepath.Join(root, "integration", ".server"), "server state directory (data, certificates, env file)")
	bin := flag.String("bin", filepath.Join(root, ".bin"), "directory holding (or receiving) the versitygw binary")
	flag.Parse()
	if flag.NArg() < 1 || (flag.Arg(0) != "env" && flag.NArg() != 1) {
		flag.Usage()
		os.Exit(2)
	}
	var err error
	switch flag.Arg(0) {
	case "start":
		err = start(*dir, *bin)
	case "stop":
		err = stop(*dir)
	case "status":
		err = status(*dir)
	case "env":
		err = env(*dir, flag.Args()[1:])
	default:
		flag.Usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3server:", err)
		os.Exit(1)
	}
}

// repoRoot finds the repository root: the nearest parent holding .git or the root go.mod.
func repoRoot() string {
	wd, _ := os.Getwd()
	for d := wd; ; d = filepath.Dir(d) {
		if fi, err := os.Stat(filepath.Join(d, "integration", "go.mod")); err == nil && !fi.IsDir() {
			return d
		}
		if filepath.Dir(d) == d {
			return wd
		}
	}
}

func readEnv(dir string) (*Env, error) {
	b, err := os.ReadFile(filepath.Join(dir, "env.json"))
	if err != nil {
		return nil, err
	}
	var e Env
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("env file: %w", err)
	}
	return &e, nil
}

// env prints the env file's path or, with -shell, the shell exports for eval.
func env(dir string, args []string) error {
	fs := flag.NewFlagSet("env", flag.ContinueOnError)
	shell := fs.Bool("shell", false, "print shell exports for eval instead of the env file's path")
	user := fs.String("user", "root", "whose keys to export: root, alice or bob")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("env: unexpected argument %q", fs.Arg(0))
	}
	if !*shell {
		fmt.Println(filepath.Join(dir, "env.json"))
		return nil
	}
	e, err := readEnv(dir)
	if err != nil {
		return fmt.Errorf("no server described in %s (start one with `make server-start`): %w", dir, err)
	}
	out, err := shellExports(e, *user)
	if err != nil {
		return err
	}
	fmt.Print(out)
	return nil
}

// shellExports returns the lines that point the AWS SDK's default configuration (and so the
// s3mpu CLI) at the server's HTTPS endpoint with user's keys. The CLI addresses buckets
// path-style on its own for an IP endpoint; AWS_ENDPOINT_URL_IAM lets preflight read the
// user's policies from the server. Variables that would send requests elsewhere or sign them
// differently (a session token, a profile, a general endpoint) are unset.
func shellExports(e *Env, user string) (string, error) {
	u, ok := e.Users[user]
	if !ok {
		return "", fmt.Errorf("env: no user %q on the server (users: root, alice, bob)", user)
	}
	vars := [][2]string{
		{"AWS_ACCESS_KEY_ID", u.AccessKey},
		{"AWS_SECRET_ACCESS_KEY", u.SecretKey},
		{"AWS_REGION", e.Region},
		{"AWS_ENDPOINT_URL_S3", e.HTTPSEndpoint},
		{"AWS_ENDPOINT_URL_IAM", e.IAMEndpoint},
		{"AWS_CA_BUNDLE", e.CAFile},
		{"AWS_EC2_METADATA_DISABLED", "true"},
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# local versitygw test server as %s; bucket s3://%s\n", user, Bucket)
	for _, v := range vars {
		fmt.Fprintf(&b, "export %s=%s\n", v[0], shellQuote(v[1]))
	}
	b.WriteString("unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_STS\n")
	return b.String(), nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func status(dir string) error {
	e, err := readEnv(dir)
	if err != nil {
		return fmt.Errorf("no server described in %s: %w", dir, err)
	}
	return healthy(e)
}

func healthy(e *Env) error {
	for _, pid := range e.PIDs {
		if syscall.Kill(pid, 0) != nil {
			return fmt.Errorf("server process %d is gone", pid)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, ep := range []string{e.HTTPEndpoint, e.HTTPSEndpoint} {
		c := s3Client(e, ep, e.Users["root"])
		if _, err := c.ListBuckets(ctx, &s3.ListBucketsInput{}); err != nil {
			return fmt.Errorf("%s does not answer a signed ListBuckets: %w", ep, err)
		}
	}
	return nil
}

func start(dir, bin string) error {
	if e, err := readEnv(dir); err == nil {
		if healthy(e) == nil {
			fmt.Printf("s3server: already running (HTTP %s, HTTPS %s)\n", e.HTTPEndpoint, e.HTTPSEndpoint)
			if err := ensureBucket(e); err != nil {
				return err
			}
			printUsage(dir)
			return nil
		}
		// A stale description: stop whatever is left of it and start afresh.
		if err := stop(dir); err != nil {
			return err
		}
	}
	gw, err := ensureBinary(bin)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, d := range []string{"data", "iam", "logs"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return err
		}
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := writeSelfSignedCert(certFile, keyFile); err != nil {
		return fmt.Errorf("certificate: %w", err)
	}
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	e := &Env{
		Region:        region,
		AccountID:     accountID,
		IAMEndpoint:   fmt.Sprintf("http://127.0.0.1:%d", ports[0]),
		HTTPEndpoint:  fmt.Sprintf("http://127.0.0.1:%d", ports[1]),
		HTTPSEndpoint: fmt.Sprintf("https://127.0.0.1:%d", ports[2]),
		CAFile:        certFile,
		Dir:           dir,
		Version:       versitygwVersion,
		Users: map[string]User{"root": {
			Name:      "root",
			ARN:       "arn:aws:iam::" + accountID + ":root",
			AccessKey: "ROOT" + randHex(8),
			SecretKey: randHex(20),
		}},
	}
	sock := filepath.Join(dir, "iam.sock")
	if err := startGateways(dir, gw, sock, e, ports, keyFile); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ic := iamClient(e)
	for _, name := range []string{"alice", "bob"} {
		u, err := createUser(ctx, ic, name)
		if err != nil {
			return fmt.Errorf("provision %s: %w", name, err)
		}
		e.Users[name] = u
	}
	if err := writeEnv(dir, e); err != nil {
		return err
	}
	if err := healthy(e); err != nil {
		return err
	}
	if err := ensureBucket(e); err != nil {
		return err
	}
	fmt.Printf("s3server: versitygw %s running: HTTP %s, HTTPS %s, IAM %s\n", versitygwVersion, e.HTTPEndpoint, e.HTTPSEndpoint, e.IAMEndpoint)
	printUsage(dir)
	return nil
}

// startGateways starts versitygw's IAM service and its HTTP and HTTPS gateways on ports (in
// that order), recording each PID in the env file as soon as it exists, and waits until each
// answers.
func startGateways(dir, gw, sock string, e *Env, ports []int, keyFile string) error {
	certFile := e.CAFile
	rootUser := e.Users["root"]
	environ := append(os.Environ(), "ROOT_ACCESS_KEY="+rootUser.AccessKey, "ROOT_SECRET_KEY="+rootUser.SecretKey)
	// The gateways keep connections alive, as S3 does: without --keep-alive versitygw closes
	// every connection after one request, and each HTTPS request pays a TLS handshake.
	procs := []struct {
		name string
		args []string
	}{
		{"iam", []string{"--port", hostPort(ports[0]), "--health", "/healthz", "--quiet", "iam", "--dir", filepath.Join(dir, "iam"), "--private-ports", sock}},
		{"http", []string{"--port", hostPort(ports[1]), "--health", "/healthz", "--quiet", "--keep-alive", "--region", region, "--iam-standalone-endpoint", sock, "posix", filepath.Join(dir, "data")}},
		{"https", []string{"--port", hostPort(ports[2]), "--health", "/healthz", "--quiet", "--keep-alive", "--region", region, "--cert", certFile, "--key", keyFile, "--iam-standalone-endpoint", sock, "posix", filepath.Join(dir, "data")}},
	}
	for i, p := range procs {
		logf, err := os.OpenFile(filepath.Join(dir, "logs", p.name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		cmd := exec.Command(gw, p.args...)
		cmd.Env = environ
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			logf.Close()
			return fmt.Errorf("start versitygw %s: %w", p.name, err)
		}
		logf.Close()
		e.PIDs = append(e.PIDs, cmd.Process.Pid)
		// Record PIDs as soon as they exist, so that stop can clean up after a failed start.
		if err := writeEnv(dir, e); err != nil {
			return err
		}
		ep := []string{e.IAMEndpoint, e.HTTPEndpoint, e.HTTPSEndpoint}[i]
		if i == 0 {
			if err := waitSocket(sock, 15*time.Second); err != nil {
				return fmt.Errorf("versitygw iam: %w (see %s)", err, logf.Name())
			}
		}
		if err := waitHealth(ep+"/healthz", certFile, 15*time.Second); err != nil {
			return fmt.Errorf("versitygw %s: %w (see %s)", p.name, err, logf.Name())
		}
	}
	return nil
}

func printUsage(dir string) {
	fmt.Printf("s3server: users root, alice, bob; endpoints, CA file and keys are in %s\n", filepath.Join(dir, "env.json"))
	fmt.Printf("s3server: integration tests find it there (cd integration && go test ./...); stop with `make server-stop`\n")
	fmt.Printf("s3server: bucket s3://%s is ready; to use the s3mpu CLI against this server from this shell:\n", Bucket)
	fmt.Printf("  eval \"$(.bin/s3server env -shell)\"\n")
	fmt.Printf("  go run ./examples/s3mpu upload FILE s3://%s/KEY\n", Bucket)
}

// ensureBucket creates Bucket as root unless it exists.
func ensureBucket(e *Env) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c := s3Client(e, e.HTTPEndpoint, e.Users["root"])
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(Bucket)}); err == nil {
		return nil
	}
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(Bucket)}); err != nil {
		return fmt.Errorf("create bucket %s: %w", Bucket, err)
	}
	return nil
}

// createUser makes an IAM user with an access key. The server generates the secret key.
func createUser(ctx context.Context, ic *iam.Client, name string) (User, error) {
	out, err := ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)})
	if err != nil {
		return User{}, err
	}
	k, err := ic.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		return User{}, err
	}
	arn := aws.ToString(out.User.Arn)
	if arn == "" {
		arn = "arn:aws:iam::" + accountID + ":user/" + name
	}
	return User{Name: name, ARN: arn, AccessKey: aws.ToString(k.AccessKey.AccessKeyId), SecretKey: aws.ToString(k.AccessKey.SecretAccessKey)}, nil
}

func stop(dir string) error {
	e, err := readEnv(dir)
	if err == nil {
		for _, pid := range e.PIDs {
			killWait(pid)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove server data: %w", err)
	}
	fmt.Println("s3server: stopped")
	return nil
}

func killWait(pid int) {
	if syscall.Kill(pid, syscall.SIGTERM) != nil {
		return
	}
	for i := 0; i < 50; i++ {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

func ensureBinary(bin string) (string, error) {
	gw := filepath.Join(bin, "versitygw")
	if fi, err := os.Stat(gw); err == nil && fi.Mode()&0o111 != 0 {
		return gw, nil
	}
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return "", err
	}
	fmt.Printf("s3server: installing versitygw %s into %s with go install (first run only: it downloads\n"+
		"s3server: and compiles the server, a few minutes on 2 cores; progress every %s)\n", versitygwVersion, bin, progressEvery)
	cmd := exec.Command("go", "install", versitygwModule+"@"+versitygwVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+bin, "GOFLAGS=-mod=mod")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	start := time.Now()
	err := withProgress(os.Stdout, "installing versitygw", progressEvery, cmd.Run)
	if err != nil {
		return "", fmt.Errorf("go install versitygw: %w", err)
	}
	fmt.Printf("s3server: installed versitygw in %s\n", time.Since(start).Round(time.Second))
	return gw, nil
}

// progressEvery is how often a long step says that it is still working.
const progressEvery = 15 * time.Second

// withProgress runs fn, writing "s3server: still WHAT (N s)" to w every interval until it returns.
func withProgress(w io.Writer, what string, interval time.Duration, fn func() error) error {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		start := time.Now()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintf(w, "s3server: still %s (%d s)\n", what, int(time.Since(start).Seconds()))
			}
		}
	}()
	err := fn()
	close(done)
	wg.Wait()
	return err
}

func writeEnv(dir string, e *Env) error {
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "env.json.tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, "env.json"))
}

func hostPort(p int) string { return "127.0.0.1:" + strconv.Itoa(p) }

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func waitSocket(path string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("socket %s did not appear within %s", path, d)
}

func waitHealth(url, caFile string, d time.Duration) error {
	hc := httpClient(caFile)
	deadline := time.Now().Add(d)
	var last error
	for time.Now().Before(deadline) {
		resp, err := hc.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Errorf("health check answered %s", resp.Status)
		} else {
			last = err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("not healthy within %s: %v", d, last)
}

func httpClient(caFile string) *http.Client {
	pool := x509.NewCertPool()
	if b, err := os.ReadFile(caFile); err == nil {
		pool.AppendCertsFromPEM(b)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func s3Client(e *Env, endpoint string, u User) *s3.Client {
	return s3.New(s3.Options{
		Region:       e.Region,
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(u.AccessKey, u.SecretKey, ""),
		HTTPClient:   httpClient(e.CAFile),
	})
}

func iamClient(e *Env) *iam.Client {
	u := e.Users["root"]
	return iam.New(iam.Options{
		Region:       e.Region,
		BaseEndpoint: aws.String(e.IAMEndpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(u.AccessKey, u.SecretKey, ""),
		HTTPClient:   httpClient(e.CAFile),
	})
}

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// writeSelfSignedCert writes a self-signed certificate for 127.0.0.1, ::1 and localhost that
// also serves as its own CA, so clients trust it by adding cert.pem to their root pool.
func writeSelfSignedCert(certFile, keyFile string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "s3mpu local test server", Organization: []string{"s3mpu"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	return os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
}
