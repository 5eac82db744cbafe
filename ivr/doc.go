// Package ivr owns the IVR flows of kcc: the YAML flow format, its strict
// decoding with file:line:col positions, validation, compilation into an
// immutable versioned [Program], the [Engine] that runs a program against
// one caller through the [Call] interface this package declares, and the
// tools built on the same engine: [Simulate], [Graph] and [Schema].
//
// ivr is pure: it knows nothing of SIP, RTP, HTTP or SQL, and takes its
// clock, caller number, queue state and incident messages from an [Env], so
// flows can be validated and simulated without a network. From kcc it
// imports kcc/call, kcc/hours (opening hours) and kcc/prompts (the sayers),
// all of layer 1 or below. The call lifecycle package imports it (and
// implements [Call]); cmd/kcc imports it to validate, simulate and graph
// flows and implements [Checker]. Lower layers must not import it.
//
// # Loading
//
// [Parse] decodes a flow file into a [Flow] (the file's shape with positions,
// for tools); [Compile] validates a Flow against the rest of the
// configuration through a [Checker] and produces a [Program]; [Load] does
// both. Every problem found is reported at once, each as a [Problem] that
// prints as "file:line:col: message" and says what is wanted, joined with
// errors.Join. What is suspicious but not wrong comes back as
// [Program.Warnings]. A Program is immutable and safe to share between
// concurrent calls; its [Program.Version] is a hash of the source, so calls
// in progress can keep the version they started on while a new one is
// loaded. [Schema] returns a JSON Schema of the format for editors.
//
// # Flow format
//
//	flow: "14070"            # the flow's name
//	numbers: ["14070"]       # service numbers answered with this flow (digits, optional leading +)
//	languages: [nl, en]      # prompt languages; the first is the language a call starts in
//	start: storing           # the first node
//	timezone: Europe/Amsterdam   # of time and days conditions (this is the default)
//	vars: {afdeling: ""}     # variables and their initial values (optional)
//	schedules:               # opening hours by name (optional)
//	  kantoor:
//	    timezone: Europe/Amsterdam
//	    weekly: {mon-fri: "08:00-20:00"}
//	    holidays: nl
//	nodes:
//	  storing:  {incident: storing, next: open}
//	  open:     {hours: kantoor, open: welkom, closed: gesloten}
//	  gesloten: {play: [gesloten], next: ophangen}
//	  welkom:   {play: [welkom], next: taal}
//	  taal:
//	    menu:
//	      prompt: kies-taal
//	      options:
//	        "1": {set: {language: nl}, next: hoofdmenu}
//	        "2": {set: {language: en}, next: hoofdmenu}
//	      timeout: 4s
//	      no_input: hoofdmenu
//	  hoofdmenu:
//	    menu:
//	      prompt: hoofdmenu
//	      options:
//	        "1": {queue: paspoort, topic: Paspoort}
//	        "9": {play: [zie-website], next: einde}
//	      invalid: {play: [ongeldige-keuze], next: hoofdmenu}
//	      retries: 3
//	      exhausted: {queue: algemeen, topic: Algemeen}
//	  einde:    {play: [tot-ziens], next: ophangen}
//	  ophangen: {hangup: normal}
//
// Every node does exactly one thing, named by one of these keys:
//
//   - play: a prompt or a list of prompts, played in order; then next. A
//     list may hold say items, which speak a value with the prompt
//     catalogue's sayers: {say: digits|number|ordinal|minutes, var: <name>}
//     or {say: ..., value: 12}; minutes take approx: exactly, about,
//     more-than or less-than ("ongeveer 5 minuten"). digits reads a number
//     digit by digit (a case number), number and minutes read 0-9999,
//     ordinal 1-9999. Say items play in the sayers' language nearest the
//     caller's along the prompt fallback chain. With barge_in: true a key
//     stops the prompts and is the answer to the next menu or input (whose
//     prompt is then skipped, as are further barge-in plays); without it the
//     prompts play in full.
//   - menu: plays prompt (a key pressed during it is the answer), then waits
//     timeout (default 5s, at most 1m) for a key. A key in options runs that
//     option's action; any other key runs invalid; no key runs no_input. Both
//     default to the menu again. Every failed attempt counts against retries
//     (default 3, at most 20) for that node, also when the flow comes back
//     through next, so "invalid -> play -> next: menu" loops are bounded. When
//     the count exceeds retries, exhausted runs instead (default: hang up
//     normally). A valid key resets the count. A menu has no next. Option
//     keys are single DTMF keys: 0-9, *, # and A-D; quote them ("1", "*",
//     "#"), since YAML reads * and # specially. Menus of more than five
//     options get a warning: callers do not remember more.
//   - input: collects digits into the variable var: plays prompt (a key
//     during it is the first digit), waits timeout (default 5s) for the first
//     digit and inter_digit (default 3s) for each next one, and stops at the
//     terminator key (default "#"; "*" or none), after max digits (default
//     20, at most 32) or when a wait times out. The entry must have at least
//     min digits (default 1) and match pattern, a Go regular expression over
//     the whole entry (anchored: "[1-9][0-9]{5,9}"). An entry that does not
//     fit, or holds another key, runs invalid; no digit runs no_input; with
//     retries and exhausted as for a menu. On success the flow goes to next.
//     Input is for case numbers and the like, and must NEVER collect a
//     citizen service number (BSN): the IVR has no legal ground to process
//     it, and a variable named bsn, burgerservicenummer, sofinummer or
//     containing "bsn" is refused. The digits are not logged, traced or put
//     in the call's path; routing gets them with the other variables.
//   - set: {name: value, ...} sets variables to text; language switches
//     the call's language (one of the flow's languages); then next.
//   - branch: {cases: [...], default: <action>} goes to the next of the
//     first case whose conditions all hold, else to default (default: end
//     the flow). A case is a map of conditions and next:
//     var with equals (exact text) or matches (a regular expression over the
//     whole value); caller, one pattern or a list ("+316*", "06????????",
//     withheld), * for any digits and ? for one; time, "HH:MM-HH:MM" in the
//     flow's time zone (start included, end excluded; "22:00-06:00" wraps);
//     days, mon..sun or a range such as mon-fri; open or closed, a schedule
//     name; incident, a slot with an active message; queue with
//     waiting_at_least, waiting_below, available_at_least or
//     available_below, callers waiting in or agents available for that
//     queue (without queue state they never hold).
//   - goto: jumps to the named node.
//   - hours: goes to open or closed by a schedule, named from schedules or
//     written inline. Optional holiday and early_close say where to go when
//     closed for a public holiday or after an early closing (default:
//     closed). A schedule is the opening-hours format of package kcc/hours:
//     timezone, weekly, holidays (nl, or single holidays such as koningsdag;
//     bevrijdingsdag-lustrum for 5 May in lustrum years), early_close
//     ({"12-24": "16:00"}), closed_dates and special_dates; its mistakes are
//     reported at their positions in the flow file.
//   - queue: hands the caller to a routing queue, with an optional topic
//     shown to agents, priority (0-100, default 0), skills needed besides
//     the queue's, and care: true for a vulnerable or emotional caller
//     (routing gives priority and an agent with the care skill). Routing
//     gets the flow's variables too. When the queue is done, next if
//     given, else the flow ends with cause "queued". When routing refuses
//     the caller (the queue is full, or has no agents by its empty-queue
//     policy) the flow goes to unavailable, an action, else to next, else
//     it ends normally.
//   - callback: {queue: <queue>, topic, priority, skills} offers the caller
//     a call back instead of waiting, keeping a place in the queue from
//     now; the topic, priority and skills are as for queue. The call
//     lifecycle reads back the caller's number and asks to confirm. When
//     the caller accepts, the flow ends with cause "callback"; when the
//     caller declines or no callback is possible (withheld or foreign
//     number, no trunk, the queue refuses it), the flow goes to next.
//   - transfer: {target: <name>} connects the caller to a transfer target
//     listed in kcc's configuration, by name: a flow never dials a number
//     written in it or typed by the caller. When the conversation is
//     over, the flow ends with cause "transferred"; when the target is not
//     reached, the flow goes to next.
//   - incident: plays the message of the named incident slot if one is
//     active (set with an expiry through the admin endpoint), else nothing;
//     then next.
//   - hangup: ends the flow with a cause: normal, busy, congestion or
//     rejected. It has no next.
//
// A play, set, input, incident, queue, callback or transfer node without
// next ends the flow (cause "normal", or "queued"). An action (an option,
// invalid, no_input, exhausted, a case's next, default, open, closed,
// holiday, early_close, unavailable) is
// either the name of a node or an inline node written as a map; inline
// nodes compile into anonymous nodes named by their path, such as
// "hoofdmenu/1". A node's own next and goto take a name.
//
// Variables are lower-case names (letters, digits, _). Besides the flow's
// own, language (the call's language) and caller (the caller's number, read
// only) can be read. A variable read but given a value nowhere (set, input
// or vars) is an error; one that some path may read before any node sets it
// gets a warning, and reads as empty.
//
// Prompt, node, queue, schedule, skill and slot names use letters, digits,
// '-' and '_' (at most 64). A topic is at most 64 bytes of text without
// control characters, quotes or backslashes, since it travels to agents in a
// SIP header. A flow file is at most 1 MiB with at most 1000 nodes; at most
// 100 problems are listed. Unknown keys are errors, with a "did you mean"
// for typos; YAML aliases (*name) are refused.
//
// # Validation
//
// Besides the shape and every value, Compile checks that every node, prompt,
// queue, transfer target, schedule and variable named exists, and that no
// cycle of nodes runs without a play, menu, input or queue in it (it would
// spin without the caller hearing anything); a queue left by unavailable,
// and callback and transfer nodes, do not count, since they may return at
// once. A prompt missing in a flow language is an
// error when no language of its fallback chain has it, and a warning when
// a fallback does (callers hear the fallback recording). Warnings also name
// nodes never reached from start, nodes that can never be left (no path to
// a queue, a hangup or the end), menus of more than five options, and
// prompts longer than MaxPromptDuration.
//
// # Running
//
// [Engine.RunEnv] walks a Program from its start node, calling [Call] to
// play prompts, read keys, enqueue, offer callbacks and transfer, until a
// hangup node, a queue without next, an accepted callback, a transfer, or a
// node without next. [Env] brings the caller number, the clock,
// the start language, initial variables, queue state ([QueueState]) and
// incident messages ([Incidents]); [Engine.Run] runs with an empty one. The
// [Result] carries the cause, the current language and the path the caller
// took: named nodes by name, menu outcomes as "menu:key", "menu:timeout"
// and "menu:exhausted", input outcomes as "input:ok", "input:invalid",
// "input:timeout" and "input:exhausted", and "queue:unavailable",
// "callback:declined" and "transfer:failed". A run that takes more steps than
// the engine allows fails with [ErrMaxSteps], so a flow that loops through
// a queue that returns at once cannot spin forever.
//
// [Simulate] runs the same engine against a scripted caller at a given
// instant and returns a [Transcript] of prompts played (with the language
// actually used), keys, decisions with their reasons (branch cases, opening
// hours with their status), queues, callback offers (accepted unless told
// otherwise) and transfers, and the final action; [Graph] draws a program as
// a Mermaid or Graphviz diagram.
package ivr
