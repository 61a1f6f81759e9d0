// slopguard console: bulk selection and keyboard shortcuts. No inline script anywhere
// (the CSP allows scripts from 'self' only); everything hangs off data-* attributes.
(function () {
  'use strict';
  var items = function () {
    return Array.prototype.slice.call(document.querySelectorAll('[data-item]'));
  };
  var focused = -1;
  // Articles and comments are picked the same way.
  var PICKS = 'input[name="articleIds"], input[name="commentIds"]';
  var PICKS_CHECKED = 'input[name="articleIds"]:checked, input[name="commentIds"]:checked';

  function updateCount(form) {
    var out = form.querySelector('[data-selected-count]');
    if (!out) return;
    var n = form.querySelectorAll(PICKS_CHECKED).length;
    out.textContent = String(n);
  }

  document.querySelectorAll('form[data-bulk]').forEach(function (form) {
    var all = form.querySelector('[data-select-all]');
    if (all) {
      all.addEventListener('change', function () {
        form.querySelectorAll(PICKS).forEach(function (box) {
          box.checked = all.checked;
        });
        updateCount(form);
      });
    }
    form.addEventListener('change', function () {
      updateCount(form);
    });
    // A decision touches what is ticked, or the whole group with that scope: never nothing by
    // accident, and never more than one item without the moderator seeing how many.
    form.addEventListener('submit', function (event) {
      var button = event.submitter;
      if (!button || button.name !== 'decision') return;
      var actions = form.querySelector('.actions');
      var scope = form.querySelector('select[name="scope"]');
      var n = scope && scope.value === 'group' ? Number(actions.getAttribute('data-group-count') || '0') : form.querySelectorAll(PICKS_CHECKED).length;
      if (n === 0) {
        event.preventDefault();
        window.alert(actions.getAttribute('data-select-first'));
        return;
      }
      if (n > 1) {
        var label = button.firstChild ? button.firstChild.textContent.trim() : button.value;
        var question = actions.getAttribute('data-confirm').replace('{d}', label).replace('{n}', String(n));
        if (!window.confirm(question)) event.preventDefault();
      }
    });
    updateCount(form);
  });

  function focusItem(i) {
    var list = items();
    if (list.length === 0) return;
    focused = Math.max(0, Math.min(list.length - 1, i));
    list.forEach(function (el, j) {
      el.classList.toggle('focus', j === focused);
    });
    list[focused].scrollIntoView({ block: 'nearest' });
  }

  function decide(decision) {
    var button = document.querySelector('form[data-bulk] button[name="decision"][value="' + decision + '"]');
    if (button) button.click();
  }

  document.addEventListener('keydown', function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target && /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName) && target.type !== 'checkbox') return;
    var list = items();
    switch (event.key) {
      case 'j':
        focusItem(focused + 1);
        break;
      case 'k':
        focusItem(focused - 1);
        break;
      case 'x': {
        var box = list[focused] && list[focused].querySelector('input[name="articleIds"]');
        if (box) {
          box.checked = !box.checked;
          box.dispatchEvent(new Event('change', { bubbles: true }));
        }
        break;
      }
      case '1':
        decide('confirm_ai_undeclared');
        break;
      case '2':
        decide('ai_declared_ok');
        break;
      case '3':
        decide('human');
        break;
      case '4':
        decide('escalate');
        break;
      case '/': {
        var first = document.querySelector('.filters input, .filters select');
        if (first) {
          event.preventDefault();
          first.focus();
        }
        break;
      }
      case '?': {
        var help = document.getElementById('help');
        if (help) help.classList.toggle('show');
        break;
      }
      default:
        return;
    }
  });
})();
