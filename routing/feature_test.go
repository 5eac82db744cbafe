package routing

import (
	"testing"
	"testing/synctest"
	"time"
)

// featureQueues exercise strategies, escalation, priority, weights and
// wrap-up; see featureAgents for who serves them.
func featureQueues() []Queue {
	b := []string{"burgerzaken"}
	return []Queue{
		{Name: "lang", Skills: b},
		{Name: "skill", Skills: b, Strategy: MostSkilled},
		{Name: "talk", Skills: b, Strategy: LeastTalkTime},
		{Name: "rr", Skills: b, Strategy: RoundRobin},
		{Name: "esc", Skills: b, MinProficiency: 4, Escalation: []Step{
			{After: 30 * time.Second, MinProficiency: 2},
			{After: time.Minute, Skills: []string{"algemeen"}},
		}},
		{Name: "vip", Skills: b, Priority: 10},
		{Name: "heavy", Skills: []string{"afval"}, Weight: 3},
		{Name: "wrap", Skills: b, WrapUp: 30 * time.Second},
		{Name: "nowrap", Skills: b, WrapUp: NoWrapUp},
		{Name: "algemeen", Skills: []string{"algemeen"}},
	}
}

// featureAgents: b1-b3 have burgerzaken at 5, 3 and 2; g1 has algemeen and
// the care skill zorg, g2 only algemeen; m1 has burgerzaken and afval and a
// wrap-up of its own.
func featureAgents() []Agent {
	return []Agent{
		{ID: "b1", Proficiency: map[string]int{"burgerzaken": 5}},
		{ID: "b2", Skills: []string{"burgerzaken"}},
		{ID: "b3", Proficiency: map[string]int{"burgerzaken": 2}},
		{ID: "g1", Skills: []string{"algemeen", "zorg"}},
		{ID: "g2", Skills: []string{"algemeen"}},
		{ID: "m1", Skills: []string{"burgerzaken", "afval"}, WrapUp: 5 * time.Second},
	}
}

func featureConfig() Config {
	return Config{RingTimeout: 15 * time.Second, WrapUp: 10 * time.Second,
		Care: Care{Skill: "zorg", Priority: 50, WrapUp: 20 * time.Second}}
}

func TestFeatures(t *testing.T) {
	misses := func(n int) func(*Config) { return func(c *Config) { c.MaxMisses = n } }
	tests := []struct {
		name   string
		config func(*Config)
		steps  []step
	}{
		// Strategies.
		{"longest idle is the default", nil, []step{
			s("login b3"), s("wait 1s"), s("login b1"), s("wait 1s"), s("login b2"),
			s("enqueue c1 lang", "ring c1 b3 #1"),
		}},
		{"most skilled first, ties by longest idle", nil, []step{
			s("login b3"), s("wait 1s"), s("login b2"), s("wait 1s"), s("login b1"),
			s("enqueue c1 skill", "ring c1 b1 #1"),
			s("enqueue c2 skill", "ring c2 b2 #1"),
			s("enqueue c3 skill", "ring c3 b3 #1"),
		}},
		{"least talk time today", nil, []step{
			s("login b1"), s("login b2"),
			s("enqueue c1 talk", "ring c1 b1 #1"), s("answer c1"), s("wait 5m"), s("end c1"),
			s("enqueue c2 talk", "ring c2 b2 #1"), s("answer c2"), s("wait 1m"), s("end c2"),
			s("wait 10s"),
			// b1 has been idle longer, but talked 5m against b2's 1m.
			s("enqueue c3 talk", "ring c3 b2 #1"),
		}},
		{"round robin remembers the last agent", nil, []step{
			s("login b1"), s("login b2"), s("login b3"),
			s("enqueue c1 rr", "ring c1 b1 #1"), s("answer c1"), s("end c1"), s("wait 10s"),
			s("enqueue c2 rr", "ring c2 b2 #1"),
			s("abandon c2", "withdraw c2 b2 #1"),
			// Longest idle would pick b2 again; round robin moves on.
			s("enqueue c3 rr", "ring c3 b3 #1"),
			s("enqueue c4 rr", "ring c4 b1 #1"),
		}},
		// Escalation.
		{"escalation lowers the minimum proficiency", nil, []step{
			s("login b3"),
			s("enqueue c1 esc"),
			s("wait 29s"), s("waiting esc c1"),
			s("wait 1s", "ring c1 b3 #1"),
		}},
		{"escalation adds a skill group", nil, []step{
			s("login g2"),
			s("enqueue c1 esc"),
			s("wait 30s"),
			s("wait 29s"), s("waiting esc c1"),
			s("wait 1s", "ring c1 g2 #1"),
		}},
		{"a step while ringing widens the next offer (Wazo)", nil, []step{
			s("login b1"), s("login b3"),
			s("enqueue c1 esc", "ring c1 b1 #1"),
			s("wait 10s"),
			s("decline c1", "ring c1 b1 #2"), // b3 is not admitted yet: b1 again
			s("wait 15s", "withdraw c1 b1 #2", "ring c1 b1 #3"),
			s("wait 5s"), // t=30s: the step fires while b1 rings
			s("wait 10s", "withdraw c1 b1 #3", "ring c1 b3 #4"),
		}},
		{"an agent who becomes free takes an escalated contact", nil, []step{
			s("login b3"), s("enqueue c0 lang", "ring c0 b3 #1"), s("answer c0"),
			s("enqueue c1 esc"), s("wait 30s"), s("waiting esc c1"),
			s("end c0"),
			s("wait 10s", "ring c1 b3 #1"),
		}},
		// RONA.
		{"RONA: paused after two misses; the caller keeps the head", misses(2), []step{
			s("login b1"), s("wait 1s"), s("login b2"),
			s("enqueue c1 lang", "ring c1 b1 #1"),
			s("decline c1", "ring c1 b2 #2"),
			s("enqueue c2 lang", "ring c2 b1 #1"),
			s("answer c1"),
			s("wait 15s", "withdraw c2 b1 #1"),
			s("agents b1:paused b2:on-call:c1 b3:logged-out g1:logged-out g2:logged-out m1:logged-out"),
			s("reason b1 no answer"),
			s("waiting lang c2"),
			s("end c1"),
			s("wait 10s", "ring c2 b2 #2"),
			s("unpause b1"), s("reason b1"),
		}},
		{"RONA: an answer resets the count", misses(2), []step{
			s("login b1"),
			s("enqueue c1 lang", "ring c1 b1 #1"),
			s("decline c1", "ring c1 b1 #2"),
			s("answer c1"), s("end c1"), s("wait 10s"),
			s("enqueue c2 lang", "ring c2 b1 #1"),
			s("decline c2", "ring c2 b1 #2"),
			s("agents b1:ringing:c2 b2:logged-out b3:logged-out g1:logged-out g2:logged-out m1:logged-out"),
		}},
		{"RONA: a ring timeout counts like a decline", misses(1), []step{
			s("login b1"), s("wait 1s"), s("login b2"),
			s("enqueue c1 lang", "ring c1 b1 #1"),
			s("wait 15s", "withdraw c1 b1 #1", "ring c1 b2 #2"),
			s("reason b1 no answer"),
		}},
		// Wrap-up.
		{"the queue's wrap-up overrides the default", nil, []step{
			s("login b2"), s("enqueue c1 wrap", "ring c1 b2 #1"), s("answer c1"), s("end c1"),
			s("wait 29s"), s("agents b1:logged-out b2:wrap-up b3:logged-out g1:logged-out g2:logged-out m1:logged-out"),
			s("wait 1s"), s("agents b1:logged-out b2:available b3:logged-out g1:logged-out g2:logged-out m1:logged-out"),
		}},
		{"the agent's wrap-up overrides the queue's", nil, []step{
			s("login m1"), s("enqueue c1 wrap", "ring c1 m1 #1"), s("answer c1"), s("end c1"),
			s("enqueue c2 wrap"),
			s("wait 5s", "ring c2 m1 #1"),
		}},
		{"no wrap-up: the next caller rings at once", nil, []step{
			s("login b2"), s("enqueue c1 nowrap", "ring c1 b2 #1"), s("answer c1"),
			s("enqueue c2 nowrap"),
			s("end c1", "ring c2 b2 #1"),
		}},
		{"wrap-up does not end early (Asterisk #1006)", nil, []step{
			s("login b1"), s("login b2"),
			s("enqueue c1 lang", "ring c1 b1 #1"), s("answer c1"), s("end c1"),
			s("wait 2s"), s("enqueue c2 lang", "ring c2 b2 #1"), s("answer c2"), s("end c2"),
			s("login b1"), s("busy b1"), s("free b1"), s("pause b1 koffie"), s("unpause b1"),
			s("wait 7s"),
			s("agents b1:wrap-up b2:wrap-up b3:logged-out g1:logged-out g2:logged-out m1:logged-out"),
			s("enqueue c3 lang"),
			s("wait 1s", "ring c3 b1 #1"),
		}},
		// Pause.
		{"paused before login logs in paused (Asterisk #1007)", nil, []step{
			s("pause b1 training"), s("login b1"),
			s("agents b1:paused b2:logged-out b3:logged-out g1:logged-out g2:logged-out m1:logged-out"),
			s("enqueue c1 lang"), s("waiting lang c1"),
			s("unpause b1", "ring c1 b1 #1"),
		}},
		{"a pause during a call starts after wrap-up (Amazon Connect #613)", nil, []step{
			s("login b1"), s("enqueue c1 lang", "ring c1 b1 #1"), s("answer c1"),
			s("pause b1 pauze"), s("end c1"),
			s("agents b1:wrap-up b2:logged-out b3:logged-out g1:logged-out g2:logged-out m1:logged-out"),
			s("wait 10s"),
			s("agents b1:paused b2:logged-out b3:logged-out g1:logged-out g2:logged-out m1:logged-out"),
			s("reason b1 pauze"),
			s("enqueue c2 lang"),
			s("unpause b1", "ring c2 b1 #1"),
		}},
		{"a pause while ringing withdraws once and moves on (mod_callcenter #800)", nil, []step{
			s("login b1"), s("wait 1s"), s("login b2"),
			s("enqueue c1 lang", "ring c1 b1 #1"),
			s("pause b1 weg", "withdraw c1 b1 #1", "ring c1 b2 #2"),
			s("wait 15s", "withdraw c1 b2 #2", "ring c1 b2 #3"),
		}},
		{"a pause survives logout, login and the phone's state (Twilio Flex #290)", nil, []step{
			s("login b1"), s("pause b1 lunch"), s("logout b1"), s("login b1"), s("busy b1"), s("free b1"),
			s("agents b1:paused b2:logged-out b3:logged-out g1:logged-out g2:logged-out m1:logged-out"),
			s("reason b1 lunch"),
			s("busy b1"), s("unpause b1"),
			s("agents b1:busy b2:logged-out b3:logged-out g1:logged-out g2:logged-out m1:logged-out"),
		}},
		// Priority and fairness.
		{"a higher priority goes first (Asterisk #1637)", nil, []step{
			s("enqueue c1 lang"), s("enqueue c2 lang p=5"), s("enqueue c3 lang"),
			s("waiting lang c2 c1 c3"),
			s("login b1", "ring c2 b1 #1"),
		}},
		{"order is priority, then arrival (mod_callcenter #2511)", nil, []step{
			s("enqueue c1 lang"), s("enqueue c2 lang p=3"), s("enqueue c3 lang"), s("enqueue c4 lang p=3"),
			s("enqueue c5 lang p=9"), s("enqueue c6 lang"), s("enqueue c7 lang p=3"), s("enqueue c8 lang p=9"),
			s("waiting lang c5 c8 c2 c4 c7 c1 c3 c6"),
			s("login b1", "ring c5 b1 #1"),
			s("login b2", "ring c8 b2 #1"),
		}},
		{"a queue's priority beats a longer wait elsewhere", nil, []step{
			s("enqueue c1 lang"), s("wait 1m"), s("enqueue c2 vip"),
			s("login m1", "ring c2 m1 #1"),
		}},
		{"an agent in two queues takes the longest wait × weight (Asterisk #108)", nil, []step{
			s("enqueue c1 lang"), s("wait 40s"), s("enqueue c2 heavy"), s("wait 25s"),
			// c1 waited 65s; c2 25s × 3 = 75s.
			s("login m1", "ring c2 m1 #1"),
		}},
		{"an agent in two queues takes the longest wait at equal weight", nil, []step{
			s("enqueue c1 heavy"), s("wait 40s"), s("enqueue c2 lang"), s("wait 25s"),
			s("login m1", "ring c1 m1 #1"),
		}},
		// Care.
		{"a care caller goes first, to an agent with the care skill", nil, []step{
			s("enqueue c1 algemeen"), s("enqueue c2 algemeen care"),
			s("waiting algemeen c2 c1"),
			s("login g2", "ring c1 g2 #1"), s("answer c1"),
			s("login g1", "ring c2 g1 #1"),
			s("answer c2"), s("end c2"),
			s("wait 29s"),
			s("agents b1:logged-out b2:logged-out b3:logged-out g1:wrap-up g2:on-call:c1 m1:logged-out"),
			s("wait 1s"),
			s("agents b1:logged-out b2:logged-out b3:logged-out g1:available g2:on-call:c1 m1:logged-out"),
		}},
		{"contact skills from the IVR narrow the agents", nil, []step{
			s("login g2"), s("enqueue c1 algemeen skills=zorg"),
			s("waiting algemeen c1"),
			s("login g1", "ring c1 g1 #1"),
		}},
		// Moving.
		{"move keeps the first queue time and withdraws", nil, []step{
			s("enqueue c1 algemeen"), s("wait 1m"),
			s("login b1"), s("enqueue c2 lang", "ring c2 b1 #1"),
			s("move c2 algemeen", "withdraw c2 b1 #1"),
			s("waiting algemeen c1 c2"),
			s("enqueue c3 algemeen"), s("move c1 lang", "ring c1 b1 #1"),
			s("waiting algemeen c2 c3"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := featureConfig()
			if tt.config != nil {
				tt.config(&cfg)
			}
			synctest.Test(t, func(t *testing.T) { runScenarioWith(t, cfg, featureQueues(), featureAgents(), tt.steps) })
		})
	}
}
