// Staff desk: a preset button puts its amount into the decision's amount field.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-fill]");
  if (!button) return;
  const field = document.getElementById(button.dataset.fill);
  if (!field) return;
  field.value = button.dataset.amount;
  field.dispatchEvent(new Event("input", { bubbles: true }));
  field.focus();
});
