/** The dashboard's browser code: placeholder until the views land. */
import "uplot/dist/uPlot.min.css";
import "./styles.css";

const root = document.getElementById("app");
if (root) root.textContent = "Dashboard loading.";
