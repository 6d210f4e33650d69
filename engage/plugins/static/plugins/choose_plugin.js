// The plugin configuration's add form: choosing a plugin reloads the page
// with ?plugin_id=<id> (and the workspace already chosen), which shows that
// plugin's settings at once instead of after a failed save.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var select = document.getElementById("id_plugin_id");
  if (!select || select.disabled) {
    return;
  }
  select.addEventListener("change", function () {
    var params = new URLSearchParams(window.location.search);
    params.set("plugin_id", select.value);
    var workspace = document.getElementById("id_workspace");
    if (workspace && workspace.value) {
      params.set("workspace", workspace.value);
    }
    window.location.search = params.toString();
  });
});
