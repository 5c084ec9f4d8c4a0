// Typesets the formulas that pymdownx.arithmatex (generic mode) wraps in
// .arithmatex elements, on every page load (mkdocs-material's document$
// also fires after instant navigation). KaTeX is vendored: no network.
document$.subscribe(function () {
  document.querySelectorAll(".arithmatex").forEach(function (element) {
    renderMathInElement(element, {
      delimiters: [
        { left: "\\(", right: "\\)", display: false },
        { left: "\\[", right: "\\]", display: true },
      ],
      throwOnError: false,
    });
  });
});
