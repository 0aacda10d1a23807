// Small DOM helpers every view uses.

export const $ = (id) => document.getElementById(id);

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function bind(id, handler) {
  $(id).addEventListener("click", (event) => {
    handler();
    // After a mouse click let the shortcuts work at once (Space would press this button).
    if (event.detail > 0) event.currentTarget.blur();
  });
}

export function toggleDialog(dialog) {
  if (dialog.open) dialog.close();
  else dialog.showModal();
}
