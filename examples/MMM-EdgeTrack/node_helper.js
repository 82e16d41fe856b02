/* MagicMirror² node helper: follows EdgeTrack's /faces feed on the mirror's own machine and hands the
 * face count and emotion to the module in the browser (the browser never talks to EdgeTrack itself). */
"use strict";
const NodeHelper = require("node_helper");
const { follow } = require("./feed");

module.exports = NodeHelper.create({
  start() { this.unfollow = null; },

  socketNotificationReceived(notification, config) {
    if (notification !== "EDGETRACK_START" || this.unfollow) return;  // one feed, however many browsers show the mirror
    this.unfollow = follow(
      config.feed,
      (summary) => this.sendSocketNotification("EDGETRACK_FACES", summary),
      (state) => this.sendSocketNotification("EDGETRACK_STATE", state),
    );
  },

  stop() { if (this.unfollow) this.unfollow(); },
});
