/* EdgeTrack's /faces feed read from Node (no MagicMirror² code here, so it can be tried alone:
 *   node -e "require('./feed').follow('http://127.0.0.1:8081/faces', s => console.log(s))"
 * Each Server-Sent Event is one --landmarks-out record; `summary` keeps what a mirror shows of it. */
"use strict";
const http = require("http");

/** {faces: how many, emotion: the first face's label or null, frame} of one record. */
function summary(record) {
  const first = record.faces.find((f) => f.emotion);
  return { faces: record.faces.length, emotion: first ? first.emotion.label : null, frame: record.frame };
}

/** Calls onSummary(summary) when the face count or the emotion changes (not 30 times a second), and
 *  onState("live" | "lost") when the connection comes or goes; reconnects every `retryMs` while lost.
 *  Returns a function that stops it. */
function follow(url, onSummary, onState = () => {}, retryMs = 2000) {
  let stopped = false, req = null, timer = null, shown = "";
  const again = () => { if (!stopped) timer = setTimeout(connect, retryMs); };
  function connect() {
    req = http.get(url, { headers: { Accept: "text/event-stream" } }, (res) => {
      if (res.statusCode !== 200) { onState("lost"); res.resume(); again(); return; }
      onState("live");
      res.setEncoding("utf8");
      let buf = "";
      res.on("data", (chunk) => {
        buf += chunk;
        let end;
        while ((end = buf.indexOf("\n\n")) >= 0) {
          const event = buf.slice(0, end); buf = buf.slice(end + 2);
          const data = event.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
          if (!data) continue;  // the retry line and keep-alive comments
          const s = summary(JSON.parse(data));
          const key = `${s.faces}|${s.emotion}`;
          if (key !== shown) { shown = key; onSummary(s); }
        }
      });
      res.on("end", () => { onState("lost"); again(); });
    });
    req.on("error", () => { onState("lost"); again(); });
  }
  connect();
  return () => { stopped = true; clearTimeout(timer); if (req) req.destroy(); };
}

module.exports = { follow, summary };
