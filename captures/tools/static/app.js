// Espresso Shop front end.
const SUPPORT = "help.desk@espresso-shop.net";

async function loadProducts() {
  const r = await fetch("/api/products");
  const products = await r.json();
  document.getElementById("products").textContent =
    products.map((p) => p.name + " " + p.price.toFixed(2)).join(", ");
}

function contact() {
  window.location.href = "mailto:" + SUPPORT;
}

loadProducts().catch(() => contact());
//# sourceMappingURL=app.js.map
