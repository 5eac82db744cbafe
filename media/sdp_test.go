package media

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// sdpLines joins SDP lines with CRLF.
func sdpLines(lines ...string) []byte {
	return []byte(strings.Join(lines, "\r\n") + "\r\n")
}

var sessionHead = []string{"v=0", "o=peer 1 1 IN IP4 192.0.2.10", "s=-", "c=IN IP4 192.0.2.10", "t=0 0"}

func offerWith(lines ...string) []byte {
	return sdpLines(append(append([]string{}, sessionHead...), lines...)...)
}

func TestAnswerGolden(t *testing.T) {
	tests := []struct {
		name      string
		offer     []byte
		wantCodec Codec
		wantPT    uint8
		wantTE    int
		wantDir   direction
	}{
		{
			name:      "pcma_and_pcmu_prefers_pcma",
			offer:     offerWith("m=audio 4000 RTP/AVP 0 8 101", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15"),
			wantCodec: PCMA, wantPT: 8, wantTE: 101, wantDir: sendrecv,
		},
		{
			name:      "pcmu_only",
			offer:     offerWith("m=audio 4000 RTP/AVP 0 101", "a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000"),
			wantCodec: PCMU, wantPT: 0, wantTE: 101, wantDir: sendrecv,
		},
		{
			name:      "no_telephone_event",
			offer:     offerWith("m=audio 4000 RTP/AVP 8"),
			wantCodec: PCMA, wantPT: 8, wantTE: noPT, wantDir: sendrecv,
		},
		{
			name: "dynamic_pt",
			offer: offerWith("m=audio 4000 RTP/AVP 111 97 98", "a=rtpmap:111 opus/48000/2",
				"a=rtpmap:97 pcmu/8000", "a=rtpmap:98 telephone-event/8000"),
			wantCodec: PCMU, wantPT: 97, wantTE: 98, wantDir: sendrecv,
		},
		{
			name:      "telephone_event_pt_96_kept",
			offer:     offerWith("m=audio 4000 RTP/AVP 8 96", "a=rtpmap:96 telephone-event/8000", "a=fmtp:96 0-16"),
			wantCodec: PCMA, wantPT: 8, wantTE: 96, wantDir: sendrecv,
		},
		{
			name: "video_then_audio",
			offer: offerWith("m=video 5000 RTP/AVP 96", "a=rtpmap:96 H264/90000",
				"m=audio 4000 RTP/AVP 8", "a=sendrecv"),
			wantCodec: PCMA, wantPT: 8, wantTE: noPT, wantDir: sendrecv,
		},
		{
			name: "second_audio_refused",
			offer: offerWith("m=audio 4000 RTP/AVP 0", "m=audio 4002 RTP/AVP 8",
				"m=application 9 UDP/BFCP *"),
			wantCodec: PCMU, wantPT: 0, wantTE: noPT, wantDir: sendrecv,
		},
		{
			name: "savp_and_no_codec_streams_refused",
			offer: offerWith("m=audio 4000 RTP/SAVP 8", "m=audio 4002 RTP/AVP 9", "a=rtpmap:9 G722/8000",
				"m=audio 4004 RTP/AVP 0"),
			wantCodec: PCMU, wantPT: 0, wantTE: noPT, wantDir: sendrecv,
		},
		{
			name: "media_level_connection",
			offer: sdpLines("v=0", "o=peer 1 1 IN IP4 192.0.2.10", "s=-", "t=0 0",
				"m=audio 4000 RTP/AVP 8", "c=IN IP4 198.51.100.7"),
			wantCodec: PCMA, wantPT: 8, wantTE: noPT, wantDir: sendrecv,
		},
		{
			name:      "hold_address_zero",
			offer:     sdpLines("v=0", "o=peer 1 1 IN IP4 192.0.2.10", "s=-", "c=IN IP4 0.0.0.0", "t=0 0", "m=audio 4000 RTP/AVP 8"),
			wantCodec: PCMA, wantPT: 8, wantTE: noPT, wantDir: sendrecv,
		},
		{
			name: "lf_line_endings_and_session_sendonly",
			offer: []byte("v=0\no=peer 1 1 IN IP4 192.0.2.10\ns=-\nc=IN IP4 192.0.2.10\nt=0 0\na=sendonly\n" +
				"m=audio 4000 RTP/AVP 8\n"),
			wantCodec: PCMA, wantPT: 8, wantTE: noPT, wantDir: recvonly,
		},
	}
	e := newTestEngine(t, 41000, 41099, false)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, answer, err := e.Answer(tt.offer)
			if err != nil {
				t.Fatalf("Answer: %v", err)
			}
			defer s.Close()
			if got := s.Codec(); got != tt.wantCodec {
				t.Errorf("Codec() = %v, want %v", got, tt.wantCodec)
			}
			if s.rx.Load().pt != tt.wantPT || s.rx.Load().tePT != tt.wantTE {
				t.Errorf("receive PTs = %d/%d, want %d/%d", s.rx.Load().pt, s.rx.Load().tePT, tt.wantPT, tt.wantTE)
			}
			if got := directionOfAnswer(t, answer); got != tt.wantDir {
				t.Errorf("answer direction = %v, want %v", got, tt.wantDir)
			}
			// The answer itself must be valid SDP that kcc would accept.
			if _, err := parseSDP(answer); err != nil {
				t.Errorf("answer does not parse: %v", err)
			}
			checkGolden(t, filepath.Join("testdata", "answer", tt.name+".sdp"), normalizePort(string(answer), s.LocalAddr().Port()))
		})
	}
}

func directionOfAnswer(t *testing.T, answer []byte) direction {
	t.Helper()
	sd, err := parseSDP(answer)
	if err != nil {
		t.Fatalf("parse answer: %v", err)
	}
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Port.Value != 0 {
			return streamDirection(sd, md)
		}
	}
	t.Fatal("answer has no accepted stream")
	return 0
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create): %v", err)
	}
	if got != string(want) {
		t.Errorf("answer differs from %s:\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestAnswerDirection(t *testing.T) {
	tests := []struct {
		offerDir string
		want     direction
	}{
		{"sendrecv", sendrecv},
		{"sendonly", recvonly},
		{"recvonly", sendonly},
		{"inactive", inactive},
		{"", sendrecv},
	}
	e := newTestEngine(t, 41100, 41199, false)
	for _, tt := range tests {
		name := tt.offerDir
		if name == "" {
			name = "absent"
		}
		t.Run(name, func(t *testing.T) {
			lines := []string{"m=audio 4000 RTP/AVP 8"}
			if tt.offerDir != "" {
				lines = append(lines, "a="+tt.offerDir)
			}
			s, answer, err := e.Answer(offerWith(lines...))
			if err != nil {
				t.Fatalf("Answer: %v", err)
			}
			defer s.Close()
			if got := directionOfAnswer(t, answer); got != tt.want {
				t.Errorf("answer direction = %v, want %v", got, tt.want)
			}
			s.tx.mu.Lock()
			gotSend := s.tx.send
			s.tx.mu.Unlock()
			if gotSend != tt.want.sends() {
				t.Errorf("session may send = %v, want %v", gotSend, tt.want.sends())
			}
		})
	}
}

func TestAnswerErrors(t *testing.T) {
	tests := []struct {
		name    string
		offer   []byte
		want    error
		wantMsg string
	}{
		{"empty", nil, ErrBadSDP, "empty"},
		{"garbage", []byte("hello world\r\n"), ErrBadSDP, ""},
		{"binary", []byte{0, 1, 2, 0xff, '\n', 'v', '='}, ErrBadSDP, ""},
		{"too_large", append(offerWith("m=audio 4000 RTP/AVP 8"), []byte(strings.Repeat("a=x:y\r\n", maxSDPSize/7+1))...), ErrBadSDP, "exceeds"},
		{"too_many_streams", offerWith(strings.Split(strings.TrimSuffix(strings.Repeat("m=audio 0 RTP/AVP 8\n", maxMediaStreams+1), "\n"), "\n")...), ErrBadSDP, "media streams"},
		{"missing_connection", sdpLines("v=0", "o=peer 1 1 IN IP4 192.0.2.10", "s=-", "t=0 0", "m=audio 4000 RTP/AVP 8"), ErrBadSDP, "c= line"},
		{"no_media", offerWith(), ErrNoCodec, "no m= line"},
		{"no_common_codec", offerWith("m=audio 4000 RTP/AVP 9 18", "a=rtpmap:9 G722/8000", "a=rtpmap:18 G729/8000"), ErrNoCodec, "neither PCMA nor PCMU"},
		{"pcma_wrong_rate", offerWith("m=audio 4000 RTP/AVP 96", "a=rtpmap:96 PCMA/16000"), ErrNoCodec, ""},
		{"stereo_pcmu", offerWith("m=audio 4000 RTP/AVP 96", "a=rtpmap:96 PCMU/8000/2"), ErrNoCodec, ""},
		{"static_pt_remapped", offerWith("m=audio 4000 RTP/AVP 8", "a=rtpmap:8 G722/8000"), ErrNoCodec, ""},
		{"audio_disabled", offerWith("m=audio 0 RTP/AVP 8"), ErrNoCodec, "port 0"},
		{"only_video", offerWith("m=video 5000 RTP/AVP 96"), ErrNoCodec, "video stream"},
		{"avpf", offerWith("m=audio 4000 RTP/AVPF 8"), ErrNoCodec, "RTP/AVPF"},
		{"ipv6", sdpLines("v=0", "o=peer 1 1 IN IP6 2001:db8::1", "s=-", "c=IN IP6 2001:db8::1", "t=0 0", "m=audio 4000 RTP/AVP 8"), ErrNoCodec, "IPv4 only"},
		{"hostname", sdpLines("v=0", "o=peer 1 1 IN IP4 pbx.example", "s=-", "c=IN IP4 pbx.example", "t=0 0", "m=audio 4000 RTP/AVP 8"), ErrNoCodec, "not an IPv4 address"},
		{"multicast", sdpLines("v=0", "o=peer 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 224.2.1.1/127", "t=0 0", "m=audio 4000 RTP/AVP 8"), ErrNoCodec, "multicast"},
	}
	e := newTestEngine(t, 41200, 41299, false)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, answer, err := e.Answer(tt.offer)
			if err == nil {
				s.Close()
				t.Fatalf("Answer succeeded with answer %q, want %v", answer, tt.want)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("Answer error = %v, want errors.Is %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Answer error = %q, want it to mention %q", err, tt.wantMsg)
			}
			if s != nil || answer != nil {
				t.Errorf("Answer returned session %v / answer %q with error", s, answer)
			}
		})
	}
	if n := e.PortsInUse(); n != 0 {
		t.Errorf("PortsInUse after failed answers = %d, want 0", n)
	}
}

func TestOfferAccept(t *testing.T) {
	e := newTestEngine(t, 41300, 41399, false)
	for _, c := range []Codec{PCMA, PCMU} {
		t.Run(c.Name, func(t *testing.T) {
			// kcc offers to an agent; a second engine plays the agent and answers.
			s, offer, err := e.Offer(c)
			if err != nil {
				t.Fatalf("Offer: %v", err)
			}
			defer s.Close()
			checkGolden(t, filepath.Join("testdata", "offer", c.Name+".sdp"), normalizePort(string(offer), s.LocalAddr().Port()))

			agent, answer, err := e.Answer(offer)
			if err != nil {
				t.Fatalf("Answer(our offer): %v", err)
			}
			defer agent.Close()
			if agent.Codec() != c || agent.rx.Load().tePT != telephoneEventPT {
				t.Errorf("agent side codec %v TE %d, want %v TE %d", agent.Codec(), agent.rx.Load().tePT, c, telephoneEventPT)
			}
			if err := s.Accept(answer); err != nil {
				t.Fatalf("Accept: %v", err)
			}
			if s.Codec() != c {
				t.Errorf("Codec() = %v, want %v", s.Codec(), c)
			}
			s.tx.mu.Lock()
			remote, send, pt := s.tx.remote, s.tx.send, s.tx.pt
			s.tx.mu.Unlock()
			if remote != agent.LocalAddr() || !send || pt != c.PayloadType {
				t.Errorf("after Accept remote %v send %v pt %d, want %v true %d", remote, send, pt, agent.LocalAddr(), c.PayloadType)
			}
			if err := s.Accept(answer); err == nil {
				t.Error("second Accept succeeded, want error")
			}
		})
	}
}

func TestOfferErrors(t *testing.T) {
	e := newTestEngine(t, 41400, 41499, false)
	if _, _, err := e.Offer(Codec{Name: "G722", PayloadType: 9, ClockRate: 8000}); !errors.Is(err, ErrNoCodec) {
		t.Errorf("Offer(G722) error = %v, want ErrNoCodec", err)
	}
	answerFor := func(lines ...string) []byte { return offerWith(lines...) }
	tests := []struct {
		name   string
		answer []byte
		want   error
	}{
		{"garbage", []byte("nonsense"), ErrBadSDP},
		{"rejected", answerFor("m=audio 0 RTP/AVP 8"), ErrNoCodec},
		{"other_codec", answerFor("m=audio 4000 RTP/AVP 0"), ErrNoCodec},
		{"two_streams", answerFor("m=audio 4000 RTP/AVP 8", "m=video 0 RTP/AVP 96"), ErrBadSDP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, err := e.Offer(PCMA)
			if err != nil {
				t.Fatalf("Offer: %v", err)
			}
			defer s.Close()
			if err := s.Accept(tt.answer); !errors.Is(err, tt.want) {
				t.Errorf("Accept error = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("accept_on_answered_session", func(t *testing.T) {
		s, _, err := e.Answer(offerWith("m=audio 4000 RTP/AVP 8"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Accept(offerWith("m=audio 4000 RTP/AVP 8")); err == nil {
			t.Error("Accept on an answered session succeeded, want error")
		}
	})
	t.Run("dynamic_pt_answer", func(t *testing.T) {
		s, _, err := e.Offer(PCMU)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Accept(answerFor("m=audio 4000 RTP/AVP 97", "a=rtpmap:97 PCMU/8000")); err != nil {
			t.Fatalf("Accept: %v", err)
		}
		s.tx.mu.Lock()
		pt := s.tx.pt
		s.tx.mu.Unlock()
		if pt != 97 {
			t.Errorf("send PT = %d, want the answer's 97", pt)
		}
	})
}
