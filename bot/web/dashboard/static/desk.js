// Progressive enhancement only: every page works without this file.
// The broadcast counter, counting exactly as bot/sms.py does (the alphabet comes from the
// server, so there is one source of truth).
(function () {
  "use strict";
  var text = document.getElementById("text");
  var counter = document.getElementById("counter");
  if (!text || !counter) { return; }
  var basic = new Set(Array.from(counter.dataset.gsm));
  var extension = new Set(Array.from(counter.dataset.gsmExt));
  var prefix = counter.dataset.prefix;

  function measure(body) {
    var septets = 0, gsm = true;
    Array.from(body).forEach(function (ch) {
      if (basic.has(ch)) { septets += 1; } else if (extension.has(ch)) { septets += 2; } else { gsm = false; }
    });
    var length = gsm ? septets : body.split("").length; // UTF-16 code units, as UCS-2 counts
    var single = gsm ? 160 : 70, multi = gsm ? 153 : 67;
    return { length: length, encoding: gsm ? "GSM-7" : "UCS-2",
             segments: length <= single ? 1 : Math.ceil(length / multi) };
  }

  function show(which, result) {
    var box = counter.querySelector('[data-count="' + which + '"]');
    box.querySelector(".segments").textContent = result.segments;
    box.querySelector(".length").textContent = result.length;
    box.querySelector(".encoding").textContent = result.encoding;
  }

  function update() {
    show("sms", measure(prefix + text.value));
    show("plain", measure(text.value));
  }
  text.addEventListener("input", update);
  update();
})();
