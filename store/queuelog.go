package store

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The queue_log events kcc writes (issue 7 item 3), named as Asterisk names
// them. Field order per event is in the constructors below.
const (
	QLEnterQueue       = "ENTERQUEUE"
	QLConnect          = "CONNECT"
	QLCompleteCaller   = "COMPLETECALLER"
	QLCompleteAgent    = "COMPLETEAGENT"
	QLAbandon          = "ABANDON"
	QLExitWithTimeout  = "EXITWITHTIMEOUT"
	QLExitEmpty        = "EXITEMPTY"
	QLExitWithKey      = "EXITWITHKEY"
	QLRingNoAnswer     = "RINGNOANSWER"
	QLRingCanceled     = "RINGCANCELED"
	QLBlindTransfer    = "BLINDTRANSFER"
	QLAttendedTransfer = "ATTENDEDTRANSFER"
	QLAddMember        = "ADDMEMBER"
	QLRemoveMember     = "REMOVEMEMBER"
	QLPause            = "PAUSE"
	QLUnpause          = "UNPAUSE"
	QLAgentLogin       = "AGENTLOGIN"
	QLAgentLogoff      = "AGENTLOGOFF"
	QLQueueStart       = "QUEUESTART"
	QLConfigReload     = "CONFIGRELOAD"
)

// QLNone is what Asterisk writes in the callid, queuename or agent field when
// an event has none.
const QLNone = "NONE"

// maxQueueLogLine bounds a parsed line; Asterisk formats into an 8 KiB buffer.
const maxQueueLogLine = 64 << 10

// ErrQueueLogLine is wrapped by every error of [ParseQueueLogLine].
var ErrQueueLogLine = errors.New("bad queue_log line")

// QueueLogEntry is one queue_log line. In the file it is
//
//	epoch|callid|queuename|agent|EVENT|data1|data2|...
//
// byte for byte as Asterisk's ast_queue_log writes it: the header always
// ends with "|" (so an event without data ends in "EVENT|"), and the data
// fields follow joined by "|" with empty fields kept. In the table form the
// data is split into data1..data5 (see [QueueLogEntry.TableData]); kcc's
// table also keeps the whole data string in a column "data" (Asterisk's
// non-adaptive form), because data1..data5 cannot tell "x|" from "x".
type QueueLogEntry struct {
	ID     int64 // assigned by the Writer
	Time   time.Time
	CallID string // caller's unique id, or NONE, MANAGER, CLI, REALTIME
	Queue  string // queue name, or NONE
	Agent  string // member name, or NONE
	Event  string
	Data   []string
}

// AppendLine appends e in the file format, with the trailing newline. The
// epoch is e.Time in whole Unix seconds, as time(NULL) gives Asterisk.
func (e QueueLogEntry) AppendLine(dst []byte) []byte {
	dst = strconv.AppendInt(dst, e.Time.Unix(), 10)
	for _, f := range [...]string{e.CallID, e.Queue, e.Agent, e.Event} {
		dst = append(dst, '|')
		dst = append(dst, f...)
	}
	dst = append(dst, '|')
	for i, d := range e.Data {
		if i > 0 {
			dst = append(dst, '|')
		}
		dst = append(dst, d...)
	}
	return append(dst, '\n')
}

// Line returns e in the file format without the trailing newline.
func (e QueueLogEntry) Line() string {
	b := e.AppendLine(nil)
	return string(b[:len(b)-1])
}

// TableData returns the data as Asterisk's adaptive realtime back end stores
// it in data1..data5: split on "|", the fifth field keeping the remainder
// (pipes included), missing fields empty. Asterisk's splitter also treats
// quotes and brackets specially; kcc never writes those characters into
// data (the constructors replace them in free text), so a plain split is
// the same.
func (e QueueLogEntry) TableData() [5]string {
	var out [5]string
	copy(out[:], e.Data)
	if len(e.Data) > 5 {
		out[4] = strings.Join(e.Data[4:], "|")
	}
	return out
}

// DBTime formats t as Asterisk's realtime back end writes the time column
// ("%F %T.%6q"), in UTC (queue_log_realtime_use_gmt=yes): a database that
// serves several time zones is unambiguous only in UTC.
func DBTime(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05.000000")
}

// ParseQueueLogLine parses one line of an Asterisk queue_log file, with or
// without its line ending. A header without the trailing "|" (written by
// some other tools) is accepted as an event without data. Invalid UTF-8
// (old files with Latin-1 caller names) is replaced by U+FFFD, since the
// store holds UTF-8 only; a NUL byte, a non-numeric epoch or a missing field
// is an error wrapping ErrQueueLogLine.
func ParseQueueLogLine(line string) (QueueLogEntry, error) {
	line = strings.TrimSuffix(line, "\n")
	line = strings.TrimSuffix(line, "\r")
	if len(line) > maxQueueLogLine {
		return QueueLogEntry{}, fmt.Errorf("%w: %d bytes, more than %d", ErrQueueLogLine, len(line), maxQueueLogLine)
	}
	if strings.ContainsAny(line, "\x00\n\r") {
		return QueueLogEntry{}, fmt.Errorf("%w: contains a NUL or line break", ErrQueueLogLine)
	}
	if !utf8.ValidString(line) {
		line = strings.ToValidUTF8(line, "\uFFFD")
	}
	f := strings.SplitN(line, "|", 6)
	if len(f) < 5 {
		return QueueLogEntry{}, fmt.Errorf("%w: %d fields, want at least epoch|callid|queue|agent|event", ErrQueueLogLine, len(f))
	}
	epoch, err := parseEpoch(f[0])
	if err != nil {
		return QueueLogEntry{}, err
	}
	if f[4] == "" {
		return QueueLogEntry{}, fmt.Errorf("%w: empty event name", ErrQueueLogLine)
	}
	e := QueueLogEntry{
		Time:   time.Unix(epoch, 0).UTC(),
		CallID: f[1],
		Queue:  f[2],
		Agent:  f[3],
		Event:  f[4],
	}
	if len(f) == 6 && f[5] != "" {
		e.Data = strings.Split(f[5], "|")
	}
	return e, nil
}

func parseEpoch(s string) (int64, error) {
	// Only digits: strconv.ParseInt would accept a sign, and no Asterisk
	// writes one. Ten digits last until 2286; eleven are allowed.
	if s == "" || len(s) > 11 {
		return 0, fmt.Errorf("%w: epoch %q", ErrQueueLogLine, s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%w: epoch %q is not a number", ErrQueueLogLine, s)
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: epoch %q: %v", ErrQueueLogLine, s, err)
	}
	return n, nil
}

func (e QueueLogEntry) validate() error {
	if err := checkTime("queue_log time", e.Time, true); err != nil {
		return err
	}
	if e.Event == "" {
		return fmt.Errorf("%w: queue_log event is empty", ErrInvalid)
	}
	for _, f := range []struct{ name, v string }{
		{"queue_log callid", e.CallID}, {"queue_log queuename", e.Queue},
		{"queue_log agent", e.Agent}, {"queue_log event", e.Event},
	} {
		if err := checkQLField(f.name, f.v); err != nil {
			return err
		}
	}
	for i, d := range e.Data {
		if err := checkQLField(fmt.Sprintf("queue_log data%d", i+1), d); err != nil {
			return err
		}
	}
	return nil
}

// checkQLField refuses what would shift or split queue_log fields.
func checkQLField(name, v string) error {
	if err := checkText(name, v); err != nil {
		return err
	}
	if strings.ContainsAny(v, "|\n\r") {
		return fmt.Errorf("%w: %s %q contains | or a line break", ErrInvalid, name, v)
	}
	return nil
}

func (e QueueLogEntry) addTo(b *Batch, seq int64) {
	e.ID = seq
	b.QueueLog = append(b.QueueLog, e)
}

// freeText makes caller-influenced text safe for a queue_log field, as
// Asterisk does for caller names ("|" becomes "_"); quotes and brackets,
// which Asterisk's table splitter would interpret, become "_" too.
func freeText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		switch r {
		case '|', '"', '(', ')', '[', ']', '\\':
			return '_'
		case '\n', '\r', '\t', 0:
			return ' '
		}
		return r
	}, s)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// QLSeconds returns the whole seconds between two instants the way Asterisk
// computes hold, talk and wait times: the difference of their Unix seconds
// (time(NULL) - start), not a rounded duration.
func QLSeconds(from, to time.Time) int64 { return to.Unix() - from.Unix() }

func qlEntry(t time.Time, callID, queue, agent, event string, data ...string) QueueLogEntry {
	return QueueLogEntry{Time: t, CallID: callID, Queue: queue, Agent: agent, Event: event, Data: data}
}

// EnterQueue is logged when a caller enters a queue: url (empty for kcc),
// caller number (the pseudonym unless raw numbers are configured), original
// position (1-based).
func EnterQueue(t time.Time, callID, queue, callerNumber string, origPos int) QueueLogEntry {
	return qlEntry(t, callID, queue, QLNone, QLEnterQueue, "", freeText(callerNumber), itoa(int64(origPos)))
}

// EnterQueueWithName is [EnterQueue] with the caller name appended, as
// Asterisk writes it with log-caller-id-name=yes.
func EnterQueueWithName(t time.Time, callID, queue, callerNumber string, origPos int, callerName string) QueueLogEntry {
	e := EnterQueue(t, callID, queue, callerNumber, origPos)
	e.Data = append(e.Data, freeText(callerName))
	return e
}

// Connect is logged when an agent answers: hold time (s), the agent leg's
// unique id, ring time (s).
func Connect(t time.Time, callID, queue, agent string, holdSec int64, agentCallID string, ringSec int64) QueueLogEntry {
	return qlEntry(t, callID, queue, agent, QLConnect, itoa(holdSec), agentCallID, itoa(ringSec))
}

// CompleteCaller is logged when the caller hangs up a connected call: hold
// time (s), call time (s), original position.
func CompleteCaller(t time.Time, callID, queue, agent string, holdSec, callSec int64, origPos int) QueueLogEntry {
	return qlEntry(t, callID, queue, agent, QLCompleteCaller, itoa(holdSec), itoa(callSec), itoa(int64(origPos)))
}

// CompleteAgent is logged when the agent hangs up a connected call; fields
// as [CompleteCaller].
func CompleteAgent(t time.Time, callID, queue, agent string, holdSec, callSec int64, origPos int) QueueLogEntry {
	return qlEntry(t, callID, queue, agent, QLCompleteAgent, itoa(holdSec), itoa(callSec), itoa(int64(origPos)))
}

// Abandon is logged when the caller hangs up while waiting: position,
// original position, wait time (s).
func Abandon(t time.Time, callID, queue string, pos, origPos int, waitSec int64) QueueLogEntry {
	return qlEntry(t, callID, queue, QLNone, QLAbandon, itoa(int64(pos)), itoa(int64(origPos)), itoa(waitSec))
}

// ExitWithTimeout is logged when the queue's maximum wait expires; fields as
// [Abandon].
func ExitWithTimeout(t time.Time, callID, queue string, pos, origPos int, waitSec int64) QueueLogEntry {
	return qlEntry(t, callID, queue, QLNone, QLExitWithTimeout, itoa(int64(pos)), itoa(int64(origPos)), itoa(waitSec))
}

// ExitEmpty is logged when the caller leaves because no agent can serve the
// queue; fields as [Abandon].
func ExitEmpty(t time.Time, callID, queue string, pos, origPos int, waitSec int64) QueueLogEntry {
	return qlEntry(t, callID, queue, QLNone, QLExitEmpty, itoa(int64(pos)), itoa(int64(origPos)), itoa(waitSec))
}

// ExitWithKey is logged when the caller leaves by pressing a key: the key,
// position, original position, wait time (s).
func ExitWithKey(t time.Time, callID, queue, key string, pos, origPos int, waitSec int64) QueueLogEntry {
	return qlEntry(t, callID, queue, QLNone, QLExitWithKey, freeText(key), itoa(int64(pos)), itoa(int64(origPos)), itoa(waitSec))
}

// RingNoAnswer is logged when an offered agent does not answer: ring time
// in milliseconds.
func RingNoAnswer(t time.Time, callID, queue, agent string, ringMillis int64) QueueLogEntry {
	return qlEntry(t, callID, queue, agent, QLRingNoAnswer, itoa(ringMillis))
}

// RingCanceled is logged when the caller leaves while an agent rings: ring
// time in milliseconds.
func RingCanceled(t time.Time, callID, queue, agent string, ringMillis int64) QueueLogEntry {
	return qlEntry(t, callID, queue, agent, QLRingCanceled, itoa(ringMillis))
}

// BlindTransfer is logged when the agent blind-transfers the caller:
// extension, context, hold time (s), call time (s), original position.
func BlindTransfer(t time.Time, callID, queue, agent, exten, context string, holdSec, callSec int64, origPos int) QueueLogEntry {
	return qlEntry(t, callID, queue, agent, QLBlindTransfer, freeText(exten), freeText(context), itoa(holdSec), itoa(callSec), itoa(int64(origPos)))
}

// AttendedTransfer is logged when the agent completes an attended transfer:
// method (BRIDGE, APP or LINK), method data, hold time (s), call time (s),
// original position.
func AttendedTransfer(t time.Time, callID, queue, agent, method, methodData string, holdSec, callSec int64, origPos int) QueueLogEntry {
	return qlEntry(t, callID, queue, agent, QLAttendedTransfer, freeText(method), freeText(methodData), itoa(holdSec), itoa(callSec), itoa(int64(origPos)))
}

// AddMember is logged when a member joins a queue: "PAUSED" when added
// paused, else empty. Asterisk's callid is MANAGER for AMI, CLI for the CLI.
func AddMember(t time.Time, callID, queue, agent string, paused bool) QueueLogEntry {
	p := ""
	if paused {
		p = "PAUSED"
	}
	return qlEntry(t, callID, queue, agent, QLAddMember, p)
}

// RemoveMember is logged when a member leaves a queue (one empty field).
func RemoveMember(t time.Time, callID, queue, agent string) QueueLogEntry {
	return qlEntry(t, callID, queue, agent, QLRemoveMember, "")
}

// Pause is logged per queue when a member pauses: the reason (may be empty).
func Pause(t time.Time, callID, queue, agent, reason string) QueueLogEntry {
	return qlEntry(t, callID, queue, agent, QLPause, freeText(reason))
}

// Unpause is logged per queue when a member unpauses: the reason.
func Unpause(t time.Time, callID, queue, agent, reason string) QueueLogEntry {
	return qlEntry(t, callID, queue, agent, QLUnpause, freeText(reason))
}

// AgentLogin is logged when an agent logs in: the agent's channel. The
// queue field is NONE.
func AgentLogin(t time.Time, callID, agent, channel string) QueueLogEntry {
	return qlEntry(t, callID, QLNone, agent, QLAgentLogin, freeText(channel))
}

// AgentLogoff is logged when an agent logs off: channel, seconds logged in.
func AgentLogoff(t time.Time, callID, agent, channel string, loginSec int64) QueueLogEntry {
	return qlEntry(t, callID, QLNone, agent, QLAgentLogoff, freeText(channel), itoa(loginSec))
}

// QueueStart is logged when the queue log opens (kcc start).
func QueueStart(t time.Time) QueueLogEntry {
	return qlEntry(t, QLNone, QLNone, QLNone, QLQueueStart, "")
}

// ConfigReload is logged when the configuration is reloaded.
func ConfigReload(t time.Time) QueueLogEntry {
	return qlEntry(t, QLNone, QLNone, QLNone, QLConfigReload, "")
}
