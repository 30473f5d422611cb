-- 40_html.lua - mail that is only HTML: legitimate senders nearly always
-- add a plain text alternative; bulk senders often do not.

rule {
  name = "MIME_HTML_ONLY", score = 1.5,
  description = "HTML text and no plain text alternative",
  check = function(task)
    local html, plain = false, false
    for _, p in ipairs(task.parts) do
      if not p.attachment then
        if p.type == "text/html" then html = true end
        if p.type == "text/plain" then plain = true end
      end
    end
    return html and not plain
  end,
}
