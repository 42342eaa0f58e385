// Live countdowns on the inbox, the referral page and the supervisors' list. The server writes
// every countdown when it renders the page (the page reads the same without this script); this
// only keeps them current, with the same translated patterns, every 30 seconds.
(function () {
  "use strict";
  var holder = document.querySelector("[data-countdown-formats]");
  if (!holder) { return; }
  var formats = holder.dataset;
  // The server's clock decides what is overdue; follow it even if this computer's clock is off.
  var offset = Date.parse(formats.now) - Date.now();
  if (isNaN(offset)) { offset = 0; }

  function fill(pattern, values) {
    return pattern.replace(/%\((\w+)\)[ds]/g, function (whole, name) {
      return values.hasOwnProperty(name) ? String(values[name]) : whole;
    });
  }

  function duration(seconds) {
    var minutes = Math.floor(Math.abs(seconds) / 60);
    var days = Math.floor(minutes / 1440);
    var hours = Math.floor((minutes % 1440) / 60);
    var rest = minutes % 60;
    if (days) { return fill(formats.dh, {days: days, hours: hours}); }
    if (hours) { return fill(formats.hm, {hours: hours, minutes: rest}); }
    return fill(formats.m, {minutes: rest});
  }

  function tick() {
    var now = Date.now() + offset;
    var clocks = document.querySelectorAll("time[data-due]");
    Array.prototype.forEach.call(clocks, function (clock) {
      var seconds = (Date.parse(clock.getAttribute("data-due")) - now) / 1000;
      if (isNaN(seconds)) { return; }
      var overdue = seconds < 0;
      clock.textContent = fill(overdue ? formats.overdue : formats.left, {time: duration(seconds)});
      clock.classList.toggle("overdue", overdue);
      var wrapper = clock.closest(".deadline");
      if (wrapper) { wrapper.classList.toggle("overdue", overdue); }
      var row = clock.closest("tr");
      if (row) { row.classList.toggle("is-overdue", overdue); }
    });
  }

  tick();
  window.setInterval(tick, 30000);
})();
