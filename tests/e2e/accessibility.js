// Evaluated in the page by test_client.py: controls without a label, and text whose
// contrast against its effective background is under WCAG AA (4.5:1).
() => {
  const visible = (node) => node.offsetParent !== null;
  const unlabelled = [...document.querySelectorAll("input, select, textarea, button")]
    .filter(visible)
    .filter((control) =>
      control.tagName === "BUTTON"
        ? !(control.textContent.trim() || control.getAttribute("aria-label"))
        : !(control.labels && control.labels.length) && !control.getAttribute("aria-label"),
    )
    .map((control) => control.outerHTML.slice(0, 80));
  const rgb = (value) =>
    value
      .match(/[\d.]+/g)
      .slice(0, 4)
      .map(Number);
  const channel = (v) => {
    const c = v / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const background = (node) => {
    for (; node; node = node.parentElement) {
      const color = rgb(getComputedStyle(node).backgroundColor);
      if (color.length < 4 || color[3] > 0) return color;
    }
    return [255, 255, 255];
  };
  const texts = document.querySelectorAll(
    ".who, .text, .meta, .hint, .message, #status, .talk, button.primary, .link-card span, " +
      "[role=tab], label",
  );
  const low = [];
  for (const node of texts) {
    if (!visible(node) || !node.textContent.trim()) continue;
    const a = luminance(rgb(getComputedStyle(node).color));
    const b = luminance(background(node));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) low.push(`${node.className || node.tagName}: ${ratio.toFixed(2)}`);
  }
  return { unlabelled, low };
};
