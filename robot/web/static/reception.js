// Move focus to the error summary so that screen readers announce what to fix (the form works without it).
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
});
