#!/usr/bin/env bash
# generate.sh regenerates kcc's built-in prompt set and hold music under
# prompts/sounds/. The outputs are committed (and compiled into the binary
# with go:embed), so CI never runs this; run it by hand after changing a text
# or the music, listen to the result, and commit the WAV files with it.
#
# Requirements: espeak-ng (with the nl and en voices) and sox.
#
# Output format, which prompts.Load insists on: RIFF/WAVE, mono, 8000 Hz,
# 16-bit signed PCM (or 8-bit G.711 A-law for the sayers' words, below).
# Speech is high-passed (telephone lines carry nothing useful below ~300 Hz
# and rumble wastes G.711 range), trimmed of leading/trailing
# silence, given a short lead-in and tail so it does not start on the first
# RTP packet, and peak-normalised to -3 dBFS so every prompt plays at the same
# level. Hold music is synthesised with sox (soft sine pads plus a quiet
# plucked arpeggio, 8 chords over 30 s) and normalised to -12 dBFS so it sits
# well below speech.
#
# Usage: prompts/generate.sh   (from any directory)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out="$here/sounds"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for tool in espeak-ng sox; do
	command -v "$tool" >/dev/null || {
		echo "generate.sh: $tool not found" >&2
		exit 1
	}
done

# -D: no dither and -R: repeatable, so regenerating unchanged texts gives
# byte-identical files and a clean git diff.
SOX=(sox -D -R -V1)

# Speaking rate in words per minute: a little slower than espeak's default
# 175, because callers listen on a narrow-band phone line.
RATE=150

declare -A VOICE=([nl]=nl [en]=en-gb)

# speak VOICE TEXT FILE writes raw espeak-ng output (22050 Hz) to FILE.
speak() {
	espeak-ng -v "$1" -s "$RATE" -w "$3" -- "$2"
}

# finish IN OUT turns raw speech into a telephone-ready prompt.
finish() {
	"${SOX[@]}" "$1" -r 8000 -c 1 -b 16 -e signed-integer "$2" \
		rate 8000 highpass 120 \
		silence 1 0.02 0.2% reverse silence 1 0.02 0.2% reverse \
		pad 0.15 0.25 \
		norm -3
}

# finish_word IN OUT is finish for the words of sayers.tsv: they are played
# back to back ("tweeduizend" "honderd" "vijf"), so the lead-in and tail are
# short enough that the gap between two words sounds like one sentence, not
# like two prompts. The ~500 words are stored as 8-bit G.711 A-law (which
# Load also accepts) to halve their size; an A-law call plays those exact
# bytes, so nothing is lost where it matters.
finish_word() {
	"${SOX[@]}" "$1" -r 8000 -c 1 -b 8 -e a-law "$2" \
		rate 8000 highpass 120 \
		silence 1 0.02 0.2% reverse silence 1 0.02 0.2% reverse \
		pad 0.03 0.07 \
		norm -3
}

# prompt LANG NAME TEXT generates sounds/LANG/NAME.wav.
prompt() {
	local lang=$1 name=$2 text=$3
	mkdir -p "$out/$lang"
	speak "${VOICE[$lang]}" "$text" "$tmp/raw.wav"
	finish "$tmp/raw.wav" "$out/$lang/$name.wav"
}

# kies-taal is bilingual: each half is spoken by the voice of its language so
# that neither sounds like a foreigner reading the other language.
kies_taal() {
	speak "${VOICE[nl]}" "Voor Nederlands, toets 1." "$tmp/a.wav"
	speak "${VOICE[en]}" "For English, press 2." "$tmp/b.wav"
	"${SOX[@]}" -n -r 22050 -c 1 -b 16 "$tmp/gap.wav" trim 0 0.35
	"${SOX[@]}" "$tmp/a.wav" "$tmp/gap.wav" "$tmp/b.wav" "$tmp/raw.wav"
	for lang in nl en; do
		mkdir -p "$out/$lang"
		finish "$tmp/raw.wav" "$out/$lang/kies-taal.wav"
	done
}

# Dutch. Numbers are spelled out where espeak would read them wrongly
# ("14070" would become "veertienduizend zeventig").
prompt nl welkom "Welkom bij veertien nul zeventig, het telefoonnummer van de gemeente Den Haag."
prompt nl hoofdmenu "Waarmee kunnen we u helpen? Voor paspoort of identiteitskaart, toets 1. Voor het ophalen van afval, toets 2. Voor belastingen, toets 3. Voor informatie op onze website, toets 9. Voor andere vragen, toets 0."
prompt nl ongeldige-keuze "Dat is helaas geen geldige keuze."
prompt nl even-geduld "Een ogenblik geduld alstublieft. Er is zo snel mogelijk een medewerker voor u beschikbaar."
prompt nl zie-website "U vindt deze informatie op onze website, den haag punt n l."
prompt nl tot-ziens "Bedankt voor uw telefoontje. Tot ziens."
prompt nl drukte "Het is op dit moment erg druk. Probeer het later nog eens. Tot ziens."
prompt nl gesloten "Wij zijn op dit moment gesloten. U kunt ons bellen op maandag tot en met vrijdag, van 8 tot 20 uur."
prompt nl opnieuw-verbinden "De verbinding met de medewerker is verbroken. U houdt uw plaats in de wachtrij."
prompt nl wachttijd "De verwachte wachttijd is"
prompt nl terugbellen-aanbod "Wilt u liever teruggebeld worden? Toets 2. U houdt dan uw plaats in de wachtrij."
prompt nl terugbellen-nummer "We bellen u terug op het nummer"
prompt nl terugbellen-bevestig "Klopt dit nummer? Toets 1 om te bevestigen. Toets 2 om te blijven wachten."
prompt nl terugbellen-bevestigd "Wij bellen u terug zodra er een medewerker voor u vrij is. U kunt nu ophangen. Tot ziens."
prompt nl terugbellen-medewerker "Dit is een terugbelverzoek. We bellen de inwoner nu, een ogenblik."
prompt nl terugbellen-onbereikbaar "De inwoner nam niet op. We proberen het later opnieuw."
prompt nl doorverbinden "U wordt doorverbonden. Een ogenblik geduld."

# English.
prompt en welkom "Welcome to fourteen oh seventy, the telephone number of the municipality of The Hague."
prompt en hoofdmenu "How can we help you? For passports and identity cards, press 1. For waste collection, press 2. For taxes, press 3. For information on our website, press 9. For all other questions, press 0."
prompt en ongeldige-keuze "Sorry, that is not a valid choice."
prompt en even-geduld "Please hold. An employee will be with you shortly."
prompt en zie-website "You can find this information on our website, den haag dot N L."
prompt en tot-ziens "Thank you for calling. Goodbye."
prompt en drukte "We are very busy at the moment. Please call again later. Goodbye."
prompt en gesloten "We are closed at the moment. Our opening hours are Monday to Friday, from 8 a.m. to 8 p.m."
prompt en opnieuw-verbinden "The connection to the employee was lost. You keep your place in the queue."
prompt en wachttijd "The expected waiting time is"
prompt en terugbellen-aanbod "Would you rather be called back? Press 2. You keep your place in the queue."
prompt en terugbellen-nummer "We will call you back on the number"
prompt en terugbellen-bevestig "Is this number right? Press 1 to confirm. Press 2 to keep waiting."
prompt en terugbellen-bevestigd "We will call you back as soon as an employee is free for you. You can hang up now. Goodbye."
prompt en terugbellen-medewerker "This is a callback request. We are calling the resident now, one moment."
prompt en terugbellen-onbereikbaar "The resident did not answer. We will try again later."
prompt en doorverbinden "You are being transferred. Please hold."

kies_taal

# The sayers' words: every line of sayers.tsv is LANG<TAB>NAME<TAB>TEXT.
words=0
while IFS=$'\t' read -r lang name text; do
	[[ -z $lang || $lang == \#* ]] && continue
	mkdir -p "$out/$lang"
	speak "${VOICE[$lang]}" "$text" "$tmp/raw.wav"
	finish_word "$tmp/raw.wav" "$out/$lang/$name.wav"
	words=$((words + 1))
done <"$here/sayers.tsv"
echo "generate.sh: spoke $words sayer words from sayers.tsv" >&2

# Hold music: eight 3.75 s chords (a gentle I-vi-IV-V style progression in C
# with added sixths, sevenths and ninths), each a soft sine pad with slow
# attack and release, plus a quiet plucked arpeggio on top.
hold() {
	local seconds=3.75 i=0
	local -a chords=(
		"C3 G3 E4 B4 D5"
		"A2 E3 C4 G4 B4"
		"F2 C3 A3 E4 G4"
		"G2 D3 B3 D4 A4"
		"E2 B2 G3 D4 B4"
		"F2 C3 A3 E4 C5"
		"D2 A2 F3 C4 E4"
		"G2 D3 G3 C4 D4"
	)
	local -a arps=(
		"E5 G5 B5 G5"
		"C5 E5 G5 E5"
		"A4 C5 E5 C5"
		"B4 D5 G5 D5"
		"G4 B4 E5 B4"
		"A4 C5 E5 G5"
		"F4 A4 D5 A4"
		"G4 C5 D5 C5"
	)
	local parts=()
	for i in "${!chords[@]}"; do
		local -a pad=() pl=()
		for n in ${chords[$i]}; do pad+=(sine "$n"); done
		for n in ${arps[$i]}; do pl+=(pluck "$n"); done
		"${SOX[@]}" -n -r 16000 -b 16 "$tmp/pad$i.wav" synth "$seconds" "${pad[@]}" \
			remix - fade q 1.0 "$seconds" 1.4 norm -6
		"${SOX[@]}" -n -r 16000 -b 16 "$tmp/pl$i.wav" synth "$seconds" "${pl[@]}" \
			delay 0.05 0.95 1.85 2.75 remix - trim 0 "$seconds" fade q 0 "$seconds" 0.4 norm -6
		"${SOX[@]}" -m -v 1 "$tmp/pad$i.wav" -v 0.3 "$tmp/pl$i.wav" "$tmp/chord$i.wav"
		parts+=("$tmp/chord$i.wav")
	done
	"${SOX[@]}" "${parts[@]}" "$tmp/seq.wav"
	# Reverberate two copies and keep the second: its start then carries the
	# tail of the first copy's last chord, so the 30 s file loops without a
	# seam.
	"${SOX[@]}" "$tmp/seq.wav" "$tmp/seq.wav" "$tmp/twice.wav"
	mkdir -p "$out/hold"
	"${SOX[@]}" "$tmp/twice.wav" -r 8000 -c 1 -b 16 -e signed-integer "$out/hold/music.wav" \
		reverb 40 50 70 rate 8000 trim 30 30 norm -12
}
hold

echo "generate.sh: wrote $(find "$out" -name '*.wav' | wc -l) files under $out" >&2
