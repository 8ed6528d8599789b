#!/usr/bin/env bash
# Regenerates the bundled speech media in dalel/demodata/ (used by `make demo` and the tests).
# Needs Debian's festival, festvox-ru, sox and ffmpeg:
#   apt-get install festival festvox-ru sox ffmpeg espeak-ng
set -euo pipefail
cd "$(dirname "$0")/../dalel/demodata"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

speak_ru() {  # speak_ru TEXTFILE OUT.wav
  text2wave -eval '(voice_msu_ru_nsh_clunits)' "$1" -o "$work/raw.wav"
  sox "$work/raw.wav" -r 16000 -c 1 "$2"
}
to_mp4() {  # to_mp4 IN.wav OUT.mp4 COLOUR
  ffmpeg -loglevel error -y -f lavfi -i "color=c=$3:s=160x120:r=10" -i "$1" -shortest \
    -c:v libx264 -pix_fmt yuv420p -c:a aac -b:a 48k -movflags +faststart "$2"
}

# Russian broadcast: a pause, then sentences; the timestamps in ru_broadcast.json are measured from the wav.
speak_ru ru_broadcast.txt "$work/speech.wav"
sox -n -r 16000 -c 1 "$work/lead.wav" trim 0 2.0
sox "$work/lead.wav" "$work/speech.wav" "$work/ru.wav"
to_mp4 "$work/ru.wav" ru_broadcast.mp4 blue
# Where "захвату" is spoken: the lead plus the duration of everything said before it.
printf 'Добрый вечер, уважаемые зрители. Сегодня мы говорим о выборах в нашей стране.\nМы никогда не призывали к насильственному\n' > "$work/pre.txt"
speak_ru "$work/pre.txt" "$work/pre.wav"
printf '{"word": "захвату", "spoken_at": %s}\n' "$(python3 -c "import sys; print(round(2.0 + float(sys.argv[1]), 2))" "$(soxi -D "$work/pre.wav")")" > ru_broadcast.json

speak_ru ru_news.txt "$work/news.wav"
sox "$work/lead.wav" "$work/news.wav" "$work/news_led.wav"
to_mp4 "$work/news_led.wav" ru_news.mp4 red

# Kazakh (espeak-ng): Whisper base cannot understand it; used for plumbing only.
espeak-ng -v kk -w "$work/kk_raw.wav" -f kk_statement.txt
sox "$work/kk_raw.wav" -r 16000 -c 1 "$work/kk.wav"
to_mp4 "$work/kk.wav" kk_statement.mp4 green
ls -l
