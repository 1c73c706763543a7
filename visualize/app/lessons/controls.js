// The controls every lesson player shares: the buttons first/prev/next/last/play,
// the slider, and the keys (← → one step, Home/End, space play/pause). One key
// press moves one step whatever has focus: the slider's and the buttons' own
// handling of those keys is left to them, and arrow keys never scroll the page.
function wireControls(show, play, slider, last) {
  document.getElementById("first").onclick = () => show(0);
  document.getElementById("prev").onclick = () => show(current - 1);
  document.getElementById("next").onclick = () => show(current + 1);
  document.getElementById("last").onclick = () => show(last);
  document.getElementById("play").onclick = play;
  slider.oninput = () => show(Number(slider.value));
  document.addEventListener("keydown", (e) => {
    if (e.target === slider && (e.key === "ArrowRight" || e.key === "ArrowLeft")) return;
    if (e.target.tagName === "BUTTON" && (e.key === " " || e.key === "Enter")) return;
    if (["ArrowRight", "ArrowLeft", "Home", "End"].includes(e.key)) e.preventDefault();
    if (e.key === "ArrowRight") show(current + 1);
    else if (e.key === "ArrowLeft") show(current - 1);
    else if (e.key === "Home") show(0);
    else if (e.key === "End") show(last);
    else if (e.key === " ") { e.preventDefault(); play(); }
  });
}
