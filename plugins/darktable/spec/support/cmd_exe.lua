--[[
  A model of what Windows runs for io.popen(line) / os.execute(line): `cmd.exe /c line`,
  then the program's C runtime splitting its command line into argv. Written from the
  documented rules, to check the plugin's Windows quoting on Linux:

  1. `cmd /?`, /C: quotes are kept only if ALL hold: no /S, exactly two quote characters,
     no special character (&<>()@^|) between them, whitespace between them, and the text
     between them names an executable file. Otherwise, if the first character is a quote,
     the leading quote and the LAST quote on the line are removed.
  2. Percent expansion (command line, not a batch file): %NAME% is replaced by the
     variable's value when NAME is defined, inside quotes too. An undefined one stays as
     written (the model then goes on scanning right after its first %, which can only
     expand more than cmd does).
  3. Outside quotes ^ escapes the next character (and is removed); & | < > end the command
     or redirect (the model reports them: the plugin must never produce one); a quote
     toggles quoting and is kept for the program.
  4. Built-ins (rmdir/rd/mkdir/md) take their arguments with quotes removed. A program's
     arguments are split by the Microsoft C runtime: whitespace outside quotes separates;
     2n backslashes + quote -> n backslashes and the quote toggles; 2n+1 backslashes + quote
     -> n backslashes and a literal quote; other backslashes are literal. The program name
     itself is read up to whitespace outside quotes, quotes removed.
  5. (M.run_sequence only) Outside quotes, & runs the next command always, && only when the
     one before exited 0, || only when it did not; n>&m and n>file redirect (the model drops
     them). %ERRORLEVEL% is expanded with the rest of the line by rule 2, i.e. BEFORE any of
     its commands run (`cmd /?`: delayed expansion is off unless /V:ON): `prog & echo
     %errorlevel%` prints the code from before prog. `echo` prints the rest of its command.
]]

local M = {}

local BUILTINS = { rmdir = true, rd = true, mkdir = true, md = true }

--- Rule 1: the /c quote handling. `is_program(text)` says whether text names an executable.
function M.strip_quotes(line, is_program)
  local quotes = select(2, line:gsub('"', '"'))
  if quotes == 2 then
    local inner = line:match('"(.-)"')
    if not inner:find("[&<>()@^|]") and inner:find("%s") and is_program and is_program(inner) then
      return line
    end
  end
  if line:sub(1, 1) == '"' then
    local last = #line
    while line:sub(last, last) ~= '"' do last = last - 1 end
    return line:sub(2, last - 1) .. line:sub(last + 1)
  end
  return line
end

--- Rule 2: %NAME% expansion with `env` (a table).
function M.expand(line, env)
  local out, i = {}, 1
  while i <= #line do
    local c = line:sub(i, i)
    if c == "%" then
      local close = line:find("%", i + 1, true)
      local name = close and line:sub(i + 1, close - 1)
      if name and name ~= "" and env[name] ~= nil then
        out[#out + 1] = env[name]
        i = close + 1
      else
        out[#out + 1] = c
        i = i + 1
      end
    else
      out[#out + 1] = c
      i = i + 1
    end
  end
  return table.concat(out)
end

--- Rule 3: carets and operators. Returns the line the command is read from, or nil and why.
function M.unescape(line)
  local out, quoted, i = {}, false, 1
  while i <= #line do
    local c = line:sub(i, i)
    if c == '"' then
      quoted = not quoted
      out[#out + 1] = c
    elseif not quoted and c == "^" then
      i = i + 1
      out[#out + 1] = line:sub(i, i)
    elseif not quoted and c:find("[&|<>]") then
      return nil, "cmd would treat " .. c .. " as an operator at " .. i .. " in: " .. line
    else
      out[#out + 1] = c
    end
    i = i + 1
  end
  return table.concat(out)
end

-- the program name: up to whitespace outside quotes, quotes removed
local function program_name(line)
  local name, quoted, i = {}, false, 1
  while i <= #line do
    local c = line:sub(i, i)
    if c == '"' then quoted = not quoted
    elseif c:find("%s") and not quoted then break
    else name[#name + 1] = c end
    i = i + 1
  end
  return table.concat(name), i
end

--- Rule 4: the Microsoft C runtime's argument splitting (after the program name).
function M.split_args(rest)
  local args, cur, quoted, have, i = {}, {}, false, false, 1
  while i <= #rest do
    local c = rest:sub(i, i)
    if c == "\\" then
      local j = i
      while rest:sub(j, j) == "\\" do j = j + 1 end
      local n = j - i
      if rest:sub(j, j) == '"' then
        cur[#cur + 1] = string.rep("\\", math.floor(n / 2))
        if n % 2 == 1 then cur[#cur + 1] = '"'; i = j + 1 else i = j end
      else
        cur[#cur + 1] = string.rep("\\", n)
        i = j
      end
      have = true
    elseif c == '"' then
      quoted = not quoted
      have = true
      i = i + 1
    elseif c:find("%s") and not quoted then
      if have then args[#args + 1] = table.concat(cur); cur, have = {}, false end
      i = i + 1
    else
      cur[#cur + 1] = c
      have = true
      i = i + 1
    end
  end
  if have then args[#args + 1] = table.concat(cur) end
  return args
end

-- built-ins: arguments split on whitespace outside quotes, quotes removed
local function builtin_args(rest)
  local args, cur, quoted, have = {}, {}, false, false
  for c in rest:gmatch(".") do
    if c == '"' then quoted = not quoted; have = true
    elseif c:find("%s") and not quoted then
      if have then args[#args + 1] = table.concat(cur); cur, have = {}, false end
    else cur[#cur + 1] = c; have = true end
  end
  if have then args[#args + 1] = table.concat(cur) end
  return args
end

--- What `cmd /c line` runs: {builtin = bool, argv = {name, arg1, ...}}, or nil and why.
-- opts.env: the environment (default {}); opts.is_program: see strip_quotes.
function M.run(line, opts)
  opts = opts or {}
  local l = M.strip_quotes(line, opts.is_program)
  l = M.expand(l, opts.env or {})
  local err
  l, err = M.unescape(l)
  if not l then return nil, err end
  l = l:gsub("^%s+", "")
  local name, next_i = program_name(l)
  local rest = l:sub(next_i)
  if BUILTINS[name:lower()] then
    local argv = builtin_args(rest)
    table.insert(argv, 1, name:lower())
    return { builtin = true, argv = argv }
  end
  local argv = M.split_args(rest)
  table.insert(argv, 1, name)
  return { builtin = false, argv = argv }
end

--- Rule 5: split the line (after rules 1 and 2) at & && || outside quotes; redirects dropped.
-- Returns {{op = nil|"&"|"&&"|"||", text = command}, ...}.
local function split_commands(l)
  local out, cur, quoted, i, op = {}, {}, false, 1, nil
  local function push(next_op)
    out[#out + 1] = { op = op, text = table.concat(cur) }
    cur, op = {}, next_op
  end
  while i <= #l do
    local c = l:sub(i, i)
    if c == '"' then quoted = not quoted; cur[#cur + 1] = c; i = i + 1
    elseif not quoted and c == "^" then cur[#cur + 1] = l:sub(i, i + 1); i = i + 2
    elseif not quoted and (c == "&" or c == "|") then
      if l:sub(i + 1, i + 1) == c then push(c .. c); i = i + 2
      else push(c); i = i + 1 end
    elseif not quoted and c == ">" then
      -- n>&m or n>target: drop it (and the digit before it)
      if cur[#cur] and cur[#cur]:match("^%d$") and (#cur == 1 or cur[#cur - 1]:find("^%s")) then
        cur[#cur] = nil
      end
      i = i + 1
      if l:sub(i, i) == "&" then i = i + 2
      else
        while l:sub(i, i):find("%s") do i = i + 1 end
        while i <= #l and not l:sub(i, i):find("[%s&|]") do i = i + 1 end
      end
    else cur[#cur + 1] = c; i = i + 1 end
  end
  push(nil)
  return out
end

--- What `cmd /c line` does with several commands: each program's exit code comes from
-- opts.exit_code(argv) -> code[, output]; returns {output = what the commands printed,
-- ran = {argv, ...}}, or nil and why. opts.env, opts.is_program as for M.run; ERRORLEVEL
-- (the code before this line) defaults to "0".
function M.run_sequence(line, opts)
  opts = opts or {}
  local env = {}
  for k, v in pairs(opts.env or {}) do env[k] = v end
  if env.ERRORLEVEL == nil then env.ERRORLEVEL = "0" end
  env.errorlevel = env.errorlevel or env.ERRORLEVEL
  local l = M.expand(M.strip_quotes(line, opts.is_program), env)
  local output, ran, code = {}, {}, tonumber(env.ERRORLEVEL) or 0
  for _, command in ipairs(split_commands(l)) do
    local go = command.op == nil or command.op == "&" or command.op == "|" or
      (command.op == "&&" and code == 0) or (command.op == "||" and code ~= 0)
    if go then
      local text, err = M.unescape(command.text)
      if not text then return nil, err end
      text = text:gsub("^%s+", "")
      local name, next_i = program_name(text)
      if name:lower() == "echo" then
        output[#output + 1] = text:sub(next_i + 1) .. "\n"
        code = 0
      else
        local argv = M.split_args(text:sub(next_i))
        table.insert(argv, 1, name)
        ran[#ran + 1] = argv
        local printed
        code, printed = opts.exit_code(argv)
        if printed then output[#output + 1] = printed end
      end
    end
  end
  return { output = table.concat(output), ran = ran }
end

return M
