/* MagicMirror² module: how many people face the mirror and the emotion EdgeTrack reads on the first one.
 * config: { feed: "http://127.0.0.1:8081/faces", showEmotion: true }  (see README.md) */
/* global Module */
Module.register("MMM-EdgeTrack", {
  defaults: { feed: "http://127.0.0.1:8081/faces", showEmotion: true },

  start() {
    this.summary = null;
    this.state = "connecting";
    this.sendSocketNotification("EDGETRACK_START", this.config);
  },

  socketNotificationReceived(notification, payload) {
    if (notification === "EDGETRACK_FACES") this.summary = payload;
    else if (notification === "EDGETRACK_STATE") this.state = payload;
    else return;
    this.updateDom(300);
  },

  getDom() {
    const div = document.createElement("div");
    div.className = "edgetrack small";
    if (this.state !== "live" || !this.summary) {
      div.classList.add("dimmed");
      div.textContent = this.state === "lost" ? "EdgeTrack: no feed" : "EdgeTrack: connecting";
      return div;
    }
    const n = this.summary.faces;
    div.textContent = n === 0 ? "no one here" : `${n} face${n > 1 ? "s" : ""}`;
    if (this.config.showEmotion && this.summary.emotion) {
      const mood = document.createElement("div");
      mood.className = "bright medium";
      mood.textContent = this.summary.emotion;
      div.appendChild(mood);
    }
    return div;
  },
});
