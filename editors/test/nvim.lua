-- End to end: Neovim's own LSP client (0.7+, headless) drives the native `starflake lsp` and
-- checks what cases.json specifies: the same cases the Node test checks against the
-- WebAssembly server the VS Code extension ships (../vscode/test/server.test.mjs).
--
--   STARFLAKE_BIN=target/debug/starflake nvim --headless --clean -c 'luafile editors/test/nvim.lua'
--
-- Prints one line per check; quits with status 1 when any fails.

local here = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h')
local cases = vim.fn.json_decode(table.concat(vim.fn.readfile(here .. '/cases.json'), '\n'))
local root = here .. '/fixtures/' .. cases.package
local failed = 0

local function uri_of(file)
  return vim.uri_from_fname(root .. '/' .. file)
end

local function say(line)
  io.stdout:write(line .. '\n')
end

local function check(ok, what, detail)
  say((ok and 'ok     ' or 'FAILED ') .. what .. ((not ok and detail) and ('\n       ' .. detail) or ''))
  if not ok then
    failed = failed + 1
  end
  return ok
end

local function finish()
  say(failed == 0 and 'all checks passed' or (failed .. ' check(s) failed'))
  vim.cmd(failed == 0 and 'qall!' or 'cquit 1')
end

local function range_of(r)
  return { start = { line = r[1], character = r[2] }, ['end'] = { line = r[3], character = r[4] } }
end

local function position_params(file, at)
  return { textDocument = { uri = uri_of(file) }, position = { line = at[1], character = at[2] } }
end

-- One diagnostic as comparable text: "SF202 5:112-5:121".
local function key(code, r)
  return string.format('%s %d:%d-%d:%d', code, r.start.line, r.start.character, r['end'].line, r['end'].character)
end

local function keys(list)
  local out = {}
  for _, item in ipairs(list) do
    table.insert(out, key(item.code, item.range))
  end
  table.sort(out)
  return table.concat(out, ', ')
end

local published = {}
local exit_code
local client_id = vim.lsp.start_client({
  name = 'starflake',
  cmd = { os.getenv('STARFLAKE_BIN') or 'starflake', 'lsp' },
  root_dir = root,
  handlers = {
    -- Keep the raw message (UTF-16 positions) and let Neovim do its own work with it too.
    ['textDocument/publishDiagnostics'] = function(err, result, ctx, config)
      published[result.uri] = result.diagnostics
      return vim.lsp.diagnostic.on_publish_diagnostics(err, result, ctx, config)
    end,
  },
  on_exit = function(code)
    exit_code = code
  end,
})
if not check(client_id ~= nil, 'the client starts `starflake lsp`') then
  return finish()
end

local buffers = {}
for _, file in ipairs(cases.open) do
  vim.cmd('edit ' .. vim.fn.fnameescape(root .. '/' .. file))
  buffers[file] = vim.api.nvim_get_current_buf()
  vim.lsp.buf_attach_client(buffers[file], client_id)
end

local function request(file, method, params)
  local responses = vim.lsp.buf_request_sync(buffers[file], method, params, 10000) or {}
  local response = responses[client_id] or {}
  return response.result, response.error
end

-- Diagnostics: every file of the package, open or not, with UTF-16 ranges.
for file, expected in pairs(cases.diagnostics) do
  local uri = uri_of(file)
  vim.wait(10000, function()
    return published[uri] ~= nil
  end, 10)
  local want = {}
  for _, d in ipairs(expected) do
    table.insert(want, { code = d.code, range = range_of(d.range) })
  end
  local got = published[uri] or {}
  check(keys(got) == keys(want), 'diagnostics of ' .. file, 'got ' .. keys(got) .. '\n       want ' .. keys(want))
  for _, d in ipairs(expected) do
    for _, g in ipairs(got) do
      if g.code == d.code and d.related then
        local places = {}
        for _, info in ipairs(g.relatedInformation or {}) do
          places[info.location.uri] = true
        end
        check(places[uri_of(d.related)], d.code .. ' points at ' .. d.related, vim.inspect(g.relatedInformation))
      end
    end
  end
end

-- Neovim turned those UTF-16 positions into byte columns: they must land on the same text.
for file, expected in pairs(cases.diagnostics) do
  local buffer = buffers[file]
  if buffer then
    for _, d in ipairs(vim.diagnostic.get(buffer)) do
      local line = vim.api.nvim_buf_get_lines(buffer, d.lnum, d.lnum + 1, false)[1] or ''
      local raw
      for _, e in ipairs(expected) do
        if e.code == d.code then
          raw = e.range
        end
      end
      local byte = raw and vim.str_byteindex(line, raw[2], true)
      check(byte == d.col, 'vim.diagnostic.get: ' .. file .. ' ' .. tostring(d.code) .. ' at byte ' .. tostring(byte), 'col ' .. d.col)
    end
  end
end

-- A quick fix, applied the way Neovim applies it; the diagnostic then goes away.
local fix = cases.quickFix
local fix_uri = uri_of(fix.file)
local target
for _, d in ipairs(published[fix_uri] or {}) do
  if d.code == fix.code then
    target = d
  end
end
if check(target ~= nil, 'a ' .. fix.code .. ' diagnostic to fix') then
  local actions = request(fix.file, 'textDocument/codeAction', {
    textDocument = { uri = fix_uri },
    range = target.range,
    context = { diagnostics = { target }, only = { 'quickfix' } },
  }) or {}
  local action
  for _, a in ipairs(actions) do
    if a.title == fix.title then
      action = a
    end
  end
  if check(action ~= nil, 'code action "' .. fix.title .. '"', vim.inspect(actions)) then
    local edits = (action.edit.changes or {})[fix_uri] or {}
    local want = {}
    for _, e in ipairs(fix.edits) do
      table.insert(want, { range = range_of(e.range), newText = e.newText })
    end
    check(vim.deep_equal(edits, want), 'its edit', vim.inspect(edits))
    vim.lsp.util.apply_workspace_edit(action.edit, 'utf-16')
    local cleared = vim.wait(10000, function()
      for _, d in ipairs(published[fix_uri] or {}) do
        if d.code == fix.code then
          return false
        end
      end
      return true
    end, 10)
    check(cleared, 'the fixed ' .. fix.code .. ' is cleared')
  end
end

for _, hover in ipairs(cases.hover) do
  local result = request(hover.file, 'textDocument/hover', position_params(hover.file, hover.at))
  local contents = result and result.contents or ''
  local text = type(contents) == 'string' and contents or contents.value or ''
  for _, part in ipairs(hover.contains) do
    check(text:find(part, 1, true) ~= nil, 'hover at ' .. hover.file .. ':' .. table.concat(hover.at, ':') .. ' tells ' .. part, text)
  end
end

for _, completion in ipairs(cases.completion) do
  local result = request(completion.file, 'textDocument/completion', position_params(completion.file, completion.at))
  local labels = {}
  for _, item in ipairs(result and (result.items or result) or {}) do
    labels[item.label] = true
  end
  for _, label in ipairs(completion.labels) do
    check(labels[label], 'completion at ' .. completion.file .. ':' .. table.concat(completion.at, ':') .. ' offers ' .. label)
  end
end

for _, definition in ipairs(cases.definition) do
  local result = request(definition.file, 'textDocument/definition', position_params(definition.file, definition.at))
  if result and (result.uri or result.targetUri) then
    result = { result }
  end
  local got = {}
  for _, l in ipairs(result or {}) do
    local r = l.targetSelectionRange or l.range
    table.insert(got, (l.targetUri or l.uri) .. ' ' .. key('', r))
  end
  local want = uri_of(definition.target) .. ' ' .. key('', range_of(definition.range))
  check(#got == 1 and got[1] == want, 'definition at ' .. definition.file .. ':' .. table.concat(definition.at, ':'), table.concat(got, '; ') .. ' instead of ' .. want)
end

-- Shutdown and exit: the server leaves with status 0.
vim.lsp.stop_client(client_id)
vim.wait(5000, function()
  return exit_code ~= nil
end, 10)
check(exit_code == 0, 'the server exits with 0 after shutdown', 'exit code ' .. tostring(exit_code))
finish()
