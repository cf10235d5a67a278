// A front-end developer's use: import the package, start it with a policy object.
import { init, onChange } from "consentry";
import "consentry/consentry.css";

const policy = {
  revision: 1,
  categories: [{ id: "essential", required: true }, { id: "analytics" }],
  services: [{ id: "ga4", kind: "ga4", category: "analytics", config: { measurement_id: "G-VITE1234" }, cookies: ["_ga", "_ga_*"] }],
};

onChange((state) => {
  document.getElementById("state").textContent = state.categories.analytics ? "analytics on" : "analytics off";
});
init({ policy }).then((state) => {
  window.initialState = state;
});
