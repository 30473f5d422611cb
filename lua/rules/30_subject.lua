-- 30_subject.lua - subjects that spam writes and people rarely do.

local WORDS = {
  "viagra", "cialis", "casino", "lottery", "you have won", "you've won",
  "winner", "100% free", "act now", "urgent response", "wire transfer",
  "bitcoin investment", "crypto profit", "weight loss", "miracle",
  "inheritance", "beneficiary", "claim your prize", "password expires",
  "verify your account", "account suspended",
}

rule {
  name = "SUBJ_ALL_CAPS", score = 3.0,
  description = "subject of ten letters or more, all capitals",
  check = function(task)
    local s = task:header("Subject")
    if s == nil then return false end
    local letters = s:gsub("[^%a]", "")
    return #letters >= 10 and letters == letters:upper()
  end,
}

rule {
  name = "SUBJ_EXCESS_PUNCT", score = 1.5,
  description = "subject with !!!, ??? or $$$",
  check = function(task)
    local s = task:header("Subject")
    return s ~= nil and (s:find("!!!", 1, true) or s:find("???", 1, true)
      or s:find("$$$", 1, true)) ~= nil
  end,
}

rule {
  name = "SUBJ_SPAM_WORDS", score = 2.5,
  description = "subject with words typical of spam and phishing",
  check = function(task)
    local s = task:header("Subject")
    if s == nil then return false end
    s = s:lower()
    local found = {}
    for _, w in ipairs(WORDS) do
      if s:find(w, 1, true) then found[#found + 1] = w end
    end
    if #found > 0 then return true, found end
    return false
  end,
}
