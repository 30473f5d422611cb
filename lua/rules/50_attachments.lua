-- 50_attachments.lua - attachments that run code when opened.  A double
-- extension ("invoice.pdf.exe") is a lie on top of that.

local BAD = {
  exe = true, scr = true, pif = true, com = true, bat = true, cmd = true,
  cpl = true, js = true, jse = true, vbs = true, vbe = true, wsf = true,
  wsh = true, hta = true, jar = true, msi = true, msp = true, ps1 = true,
  lnk = true, reg = true, iso = true, img = true, vhd = true, chm = true,
}
local DOCS = { pdf = true, doc = true, docx = true, xls = true, xlsx = true,
  txt = true, jpg = true, png = true, zip = true }

-- ext - the last and the one-before-last extension, lower case.
local function exts(name)
  local base = name:lower():gsub("[%s%.]+$", "")
  local last = base:match("%.([%w]+)$")
  local prev = base:match("%.([%w]+)%.[%w]+$")
  return last, prev
end

rule {
  name = "MIME_BAD_ATTACHMENT", score = 9.0,
  description = "attachment of a type that runs code",
  check = function(task)
    local found = {}
    for _, p in ipairs(task.parts) do
      if p.filename then
        local last = exts(p.filename)
        if last and BAD[last] then found[#found + 1] = p.filename end
      end
    end
    if #found > 0 then return true, found end
    return false
  end,
}

rule {
  name = "MIME_DOUBLE_BAD_EXTENSION", score = 6.0,
  description = "executable hidden behind a document extension",
  check = function(task)
    for _, p in ipairs(task.parts) do
      if p.filename then
        local last, prev = exts(p.filename)
        if last and prev and BAD[last] and DOCS[prev] then
          return true, { p.filename }
        end
      end
    end
    return false
  end,
}
