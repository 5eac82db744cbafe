package peertest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BaresipConfig describes one headless baresip instance.
type BaresipConfig struct {
	IP       string // address baresip binds SIP, RTP and ctrl_tcp to, e.g. "127.0.1.2"
	SIPPort  int    // also takes SIPPort+1 on TCP
	CtrlPort int
	RTPPorts string // e.g. "20000-20099"
	Account  string // one line of baresip's accounts file
}

// Baresip is a running baresip with one persistent ctrl_tcp connection.
type Baresip struct {
	Dir string
	cmd *exec.Cmd
	c   net.Conn
	r   *bufio.Reader
	n   int
	// backlog holds events Cmd read while waiting for its response.
	backlog []Msg
	frozen  bool // by Freeze: cleanup kills it rather than asking it to quit
}

// Msg is one ctrl_tcp message: a command response or an event.
type Msg struct {
	Response, OK, Event bool
	Data, Token, Type   string
	Class, Param, ID    string
	PeerURI             string `json:"peeruri"`
}

// StartBaresip starts baresip with cfg (a 440 Hz tone as audio source) and
// connects to its ctrl_tcp port. It is stopped at cleanup.
func StartBaresip(t *testing.T, cfg BaresipConfig) *Baresip {
	t.Helper()
	dir := t.TempDir()
	conf := fmt.Sprintf(`poll_method		epoll
sip_listen		%[1]s:%[2]d
net_interface		%[1]s
call_local_timeout	120
call_max_calls		4
audio_player		alsa,null
audio_alert		alsa,null
audio_source		ausine,440
ausrc_srate		48000
ausrc_channels		2
rtp_ports		%[3]s
rtp_timeout		0
module_path		/usr/lib/baresip/modules
module			g711.so
module			ausine.so
module			alsa.so
module_tmp		account.so
module_app		menu.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		%[1]s:%[4]d
statmode_default	off
`, cfg.IP, cfg.SIPPort, cfg.RTPPorts, cfg.CtrlPort)
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts"), []byte(cfg.Account+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "baresip.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("baresip", "-f", dir)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start baresip: %v", err)
	}
	b := &Baresip{Dir: dir, cmd: cmd}
	t.Cleanup(func() {
		if b.frozen {
			_ = cmd.Process.Kill()
		}
		if b.c != nil {
			if !b.frozen {
				_, _ = b.Cmd("quit", "")
			}
			_ = b.c.Close()
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(4 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		_ = logf.Close()
		if t.Failed() {
			if log, err := os.ReadFile(logf.Name()); err == nil {
				t.Logf("baresip %s log:\n%s", cfg.IP, tail(string(log), 4000))
			}
		}
	})
	addr := net.JoinHostPort(cfg.IP, strconv.Itoa(cfg.CtrlPort))
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			b.c, b.r = c, bufio.NewReader(c)
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("baresip ctrl_tcp %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

func (b *Baresip) read(deadline time.Time) (Msg, error) {
	var m Msg
	_ = b.c.SetReadDeadline(deadline)
	ls, err := b.r.ReadString(':')
	if err != nil {
		return m, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(ls[:len(ls)-1]))
	if err != nil || n < 0 || n > 1<<20 {
		return m, fmt.Errorf("bad netstring length %q", ls)
	}
	buf := make([]byte, n+1) // JSON and the trailing ','
	if _, err := io.ReadFull(b.r, buf); err != nil {
		return m, err
	}
	return m, json.Unmarshal(buf[:n], &m)
}

// Cmd sends a ctrl_tcp command and returns its response, skipping events.
func (b *Baresip) Cmd(cmd, params string) (Msg, error) {
	b.n++
	tok := "t" + strconv.Itoa(b.n)
	js, _ := json.Marshal(map[string]string{"command": cmd, "params": params, "token": tok})
	if _, err := fmt.Fprintf(b.c, "%d:%s,", len(js), js); err != nil {
		return Msg{}, err
	}
	for {
		m, err := b.read(time.Now().Add(5 * time.Second))
		if err != nil || (m.Response && m.Token == tok) {
			return m, err
		}
		if m.Event {
			// WaitEvent sees it later: an event can come before the
			// response (a call arriving right after a hang-up).
			b.backlog = append(b.backlog, m)
		}
	}
}

// Kill ends baresip at once, without unregistering: a phone that lost power.
func (b *Baresip) Kill() {
	_ = b.cmd.Process.Kill()
}

// Freeze stops baresip (SIGSTOP) without telling anyone: a phone whose
// network went away. It answers nothing, not even OPTIONS, until cleanup
// kills it.
func (b *Baresip) Freeze() {
	b.frozen = true
	_ = b.cmd.Process.Signal(syscall.SIGSTOP)
}

// WaitEvent waits up to d for an event of type typ and returns it.
func (b *Baresip) WaitEvent(typ string, d time.Duration) (Msg, error) {
	for i, m := range b.backlog {
		if m.Type == typ {
			b.backlog = b.backlog[i+1:]
			return m, nil
		}
	}
	b.backlog = nil
	deadline := time.Now().Add(d)
	for {
		m, err := b.read(deadline)
		if err != nil {
			return m, fmt.Errorf("waiting for %s: %w", typ, err)
		}
		if m.Event && m.Type == typ {
			return m, nil
		}
	}
}
