// Copy buttons of the notice page. The page works without this script: the
// buttons stay hidden and the handles can be selected by hand.
"use strict";
document.querySelectorAll("button[data-copy]").forEach(function (button) {
  var status = document.getElementById(button.getAttribute("data-status") || "");
  button.hidden = false;
  button.addEventListener("click", function () {
    var text = button.getAttribute("data-copy");
    var done = function () {
      if (status) {
        status.textContent = button.getAttribute("data-copied");
        setTimeout(function () { status.textContent = ""; }, 3000);
      }
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, function () {});
    }
  });
});
