package ivr

// The keys of every map in a flow file live in one table, objects, which the
// parser takes its known keys from and Schema turns into a JSON Schema; so
// the schema editors see cannot drift from what Parse accepts. Each key's
// kind says what its value may be.

// valueKind is the shape of a value in a flow file.
type valueKind uint8

const (
	kText     valueKind = iota + 1 // a scalar read as text (names, topics)
	kScalar                        // any scalar: text, number or true/false (set values)
	kInt                           // a whole number
	kBool                          // true or false
	kDuration                      // a Go duration such as 4s
	kTexts                         // a scalar or a list of scalars
	kPrompts                       // a prompt name, a say item, or a list of them
	kAction                        // a node name or an inline node
	kObject                        // a map with the keys of objects[sub]
	kMapOf                         // a map from free names to values of kind elem (of sub)
	kListOf                        // a list of objects[sub]
	kSchedule                      // a schedule name or an inline schedule
	kHours                         // an opening-hours schedule (hours.Config)
)

// Patterns of names, as the schema states them (Compile checks the same).
const (
	namePattern = `^[A-Za-z0-9_-]{1,64}$`
	varPattern  = `^[a-z][a-z0-9_]{0,63}$`
)

// field is one key of a map in a flow file.
type field struct {
	key  string
	kind valueKind
	// sub names the object of kObject, kListOf and kMapOf values.
	sub string
	// elem is the kind of a kMapOf map's values.
	elem valueKind
	// keys is a regular expression for a kMapOf map's keys, for the schema.
	keys string
	// enum lists the values a kText value may take, for the schema.
	enum []string
	// needs lists keys that must be present with this one, for the schema.
	needs []string
	doc   string
}

// object is the key table of one kind of map: the flow, a node, a menu...
type object struct {
	fields   []field
	required []string
	// oneOf lists keys of which exactly one must be present (a node's type).
	oneOf []string
	doc   string
}

// objects is every key table, by the name Schema uses for its definition.
// It is a compiled-once lookup table, never modified.
var objects = map[string]object{
	"flow": {
		doc:      "An IVR flow of kcc.",
		required: []string{"flow", "numbers", "languages", "start", "nodes"},
		fields: []field{
			{key: "flow", kind: kText, doc: "The flow's name."},
			{key: "numbers", kind: kTexts, doc: "Service numbers answered with this flow (digits, optional leading +)."},
			{key: "languages", kind: kTexts, doc: "Prompt languages; the first is the language a call starts in."},
			{key: "start", kind: kText, doc: "The first node."},
			{key: "timezone", kind: kText, doc: "IANA time zone of time and days conditions (default Europe/Amsterdam)."},
			{key: "vars", kind: kMapOf, elem: kScalar, keys: varPattern, doc: "Variables with their initial values."},
			{key: "schedules", kind: kMapOf, elem: kHours, keys: namePattern, doc: "Opening-hours schedules by name, for hours nodes and open/closed conditions."},
			{key: "nodes", kind: kMapOf, elem: kObject, sub: "node", keys: namePattern, doc: "The nodes by name."},
		},
	},
	"node": {
		doc:   "A node: does exactly one thing.",
		oneOf: []string{"play", "menu", "input", "set", "branch", "goto", "hours", "queue", "callback", "transfer", "hangup", "incident"},
		fields: []field{
			{key: "play", kind: kPrompts, doc: "Prompts to play in order."},
			{key: "barge_in", kind: kBool, needs: []string{"play"}, doc: "With play: a key stops the prompts and answers the next menu or input."},
			{key: "menu", kind: kObject, sub: "menu", doc: "Play a prompt and act on one key."},
			{key: "input", kind: kObject, sub: "input", doc: "Collect digits into a variable."},
			{key: "set", kind: kMapOf, elem: kScalar, keys: varPattern, doc: "Set variables; language switches the call's language."},
			{key: "branch", kind: kObject, sub: "branch", doc: "Go to the first case whose conditions hold."},
			{key: "goto", kind: kText, doc: "Jump to a node."},
			{key: "hours", kind: kSchedule, needs: []string{"open", "closed"}, doc: "Go to open or closed by an opening-hours schedule."},
			{key: "open", kind: kAction, needs: []string{"hours"}, doc: "With hours: where to go when open."},
			{key: "closed", kind: kAction, needs: []string{"hours"}, doc: "With hours: where to go when closed."},
			{key: "holiday", kind: kAction, needs: []string{"hours"}, doc: "With hours: where to go when closed for a holiday (default closed)."},
			{key: "early_close", kind: kAction, needs: []string{"hours"}, doc: "With hours: where to go when closed early (default closed)."},
			{key: "queue", kind: kText, doc: "Hand the caller to a routing queue."},
			{key: "topic", kind: kText, needs: []string{"queue"}, doc: "With queue: the topic shown to agents."},
			{key: "priority", kind: kInt, needs: []string{"queue"}, doc: "With queue: priority 0-100 passed to routing."},
			{key: "skills", kind: kTexts, needs: []string{"queue"}, doc: "With queue: skills the agent needs besides the queue's."},
			{key: "care", kind: kBool, needs: []string{"queue"}, doc: "With queue: a vulnerable or emotional caller, whom routing gives priority and an agent with the care skill."},
			{key: "unavailable", kind: kAction, needs: []string{"queue"}, doc: "With queue: where to go when the queue refuses the caller, full or without agents (default next)."},
			{key: "callback", kind: kObject, sub: "callback", doc: "Offer to call the caller back, keeping a place in a queue; next when declined or impossible."},
			{key: "transfer", kind: kObject, sub: "transfer", doc: "Connect the caller to a transfer target from kcc's configuration; next when it fails."},
			{key: "hangup", kind: kText, enum: hangupCauses, doc: "End the call: normal, busy, congestion or rejected."},
			{key: "incident", kind: kText, doc: "Play the incident message of this slot if one is active."},
			{key: "next", kind: kText, doc: "The node after this one."},
		},
	},
	"menu": {
		required: []string{"prompt", "options"},
		fields: []field{
			{key: "prompt", kind: kPrompts, doc: "The menu's prompts; a key during them answers."},
			{key: "options", kind: kMapOf, elem: kAction, keys: `^[0-9*#A-D]$`, doc: "Per DTMF key (quoted) where to go."},
			{key: "timeout", kind: kDuration, doc: "How long to wait for a key (default 5s)."},
			{key: "retries", kind: kInt, doc: "Failed attempts allowed before exhausted (default 3)."},
			{key: "invalid", kind: kAction, doc: "Where to go on a key not in options (default: the menu again)."},
			{key: "no_input", kind: kAction, doc: "Where to go when no key comes (default: the menu again)."},
			{key: "exhausted", kind: kAction, doc: "Where to go after too many failures (default: hang up)."},
		},
	},
	"input": {
		required: []string{"prompt", "var"},
		fields: []field{
			{key: "prompt", kind: kPrompts, doc: "The prompts asking for the digits; a key during them is the first digit."},
			{key: "var", kind: kText, doc: "The variable that receives the digits (never a citizen service number)."},
			{key: "min", kind: kInt, doc: "Fewest digits accepted (default 1)."},
			{key: "max", kind: kInt, doc: "Most digits read (default 20)."},
			{key: "terminator", kind: kText, doc: "Key that ends the entry (default #; none for no terminator)."},
			{key: "timeout", kind: kDuration, doc: "Wait for the first digit (default 5s)."},
			{key: "inter_digit", kind: kDuration, doc: "Wait for each further digit (default 3s)."},
			{key: "pattern", kind: kText, doc: "Regular expression the whole entry must match."},
			{key: "retries", kind: kInt, doc: "Failed attempts allowed before exhausted (default 3)."},
			{key: "invalid", kind: kAction, doc: "Where to go on an entry that does not fit (default: ask again)."},
			{key: "no_input", kind: kAction, doc: "Where to go when no digit comes (default: ask again)."},
			{key: "exhausted", kind: kAction, doc: "Where to go after too many failures (default: hang up)."},
		},
	},
	"branch": {
		required: []string{"cases"},
		fields: []field{
			{key: "cases", kind: kListOf, sub: "case", doc: "Cases tried in order; the first whose conditions all hold is taken."},
			{key: "default", kind: kAction, doc: "Where to go when no case holds (default: end the flow)."},
		},
	},
	"case": {
		required: []string{"next"},
		fields: []field{
			{key: "var", kind: kText, doc: "A variable to test with equals or matches."},
			{key: "equals", kind: kScalar, needs: []string{"var"}, doc: "Holds when var has exactly this value."},
			{key: "matches", kind: kText, needs: []string{"var"}, doc: "Holds when var's whole value matches this regular expression."},
			{key: "caller", kind: kTexts, doc: "Caller-number patterns (* any digits, ? one digit) or withheld."},
			{key: "time", kind: kText, doc: "Holds within HH:MM-HH:MM in the flow's time zone."},
			{key: "days", kind: kTexts, doc: "Holds on these weekdays (mon..sun or a range such as mon-fri)."},
			{key: "open", kind: kText, doc: "Holds when this schedule is open."},
			{key: "closed", kind: kText, doc: "Holds when this schedule is closed."},
			{key: "incident", kind: kText, doc: "Holds when this incident slot has an active message."},
			{key: "queue", kind: kText, doc: "A queue to test with waiting_* or available_*."},
			{key: "waiting_at_least", kind: kInt, needs: []string{"queue"}, doc: "Holds when at least this many callers wait in queue."},
			{key: "waiting_below", kind: kInt, needs: []string{"queue"}, doc: "Holds when fewer callers than this wait in queue."},
			{key: "available_at_least", kind: kInt, needs: []string{"queue"}, doc: "Holds when at least this many agents of queue are available."},
			{key: "available_below", kind: kInt, needs: []string{"queue"}, doc: "Holds when fewer agents of queue than this are available."},
			{key: "next", kind: kAction, doc: "Where to go when the case holds."},
		},
	},
	"callback": {
		required: []string{"queue"},
		fields: []field{
			{key: "queue", kind: kText, doc: "The queue whose place the caller keeps."},
			{key: "topic", kind: kText, doc: "The topic shown to agents."},
			{key: "priority", kind: kInt, doc: "Priority 0-100 passed to routing."},
			{key: "skills", kind: kTexts, doc: "Skills the agent needs besides the queue's."},
		},
	},
	"transfer": {
		required: []string{"target"},
		fields: []field{
			{key: "target", kind: kText, doc: "The name of a transfer target in kcc's configuration (never a number)."},
		},
	},
	"say": {
		required: []string{"say"},
		fields: []field{
			{key: "say", kind: kText, enum: sayKindNames, doc: "How to speak the value: digits, number, ordinal or minutes."},
			{key: "var", kind: kText, doc: "The variable to speak."},
			{key: "value", kind: kScalar, doc: "A value to speak instead of a variable."},
			{key: "approx", kind: kText, enum: []string{"exactly", "about", "more-than", "less-than"}, doc: "With minutes: exactly, about, more-than or less-than."},
		},
	},
}

// keysOf returns the keys of objects[name] in table order, for the parser's
// "want one of" messages.
func keysOf(name string) []string {
	fs := objects[name].fields
	keys := make([]string, len(fs))
	for i, f := range fs {
		keys[i] = f.key
	}
	return keys
}
