//! The `calculator` built-in: arithmetic expressions by recursive descent.
//!
//! Every malformed expression is an `Err` with a message a model can act on. Nesting is
//! bounded, so no input can overflow the stack.

use crate::provider::ToolSpec;

use super::{BoxFuture, Tool, ToolContext, string_arg};

/// Deepest nesting of parentheses, signs and exponents accepted.
const MAX_DEPTH: usize = 100;

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Number(f64),
    Name(String),
    /// One of `+ - * / % ^ ( ) ,`.
    Symbol(char),
}

/// A token and the 1-based column where it starts.
type Located = (Token, usize);

fn tokenize(text: &str) -> Result<Vec<Located>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let column = i + 1;
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() || c == '.' {
            let start = i;
            while chars
                .get(i)
                .is_some_and(|c| c.is_ascii_digit() || *c == '.')
            {
                i += 1;
            }
            // An exponent only when digits follow, so `2e` stays "2 then the constant e".
            if matches!(chars.get(i), Some('e' | 'E')) {
                let digits_at = if matches!(chars.get(i + 1), Some('+' | '-')) {
                    i + 2
                } else {
                    i + 1
                };
                if chars.get(digits_at).is_some_and(char::is_ascii_digit) {
                    i = digits_at;
                    while chars.get(i).is_some_and(char::is_ascii_digit) {
                        i += 1;
                    }
                }
            }
            let literal: String = chars[start..i].iter().collect();
            let value = literal
                .parse::<f64>()
                .map_err(|_| format!("`{literal}` at position {column} is not a number"))?;
            // Parsing rounds a literal past f64's range to infinity, which is no answer.
            let value = finite(value, &format!("the number at position {column}"))?;
            tokens.push((Token::Number(value), column));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while chars
                .get(i)
                .is_some_and(|c| c.is_alphanumeric() || *c == '_')
            {
                i += 1;
            }
            let name: String = chars[start..i].iter().collect();
            tokens.push((Token::Name(name.to_lowercase()), column));
        } else if c == '*' && chars.get(i + 1) == Some(&'*') {
            tokens.push((Token::Symbol('^'), column));
            i += 2;
        } else if "+-*/%^(),".contains(c) {
            tokens.push((Token::Symbol(c), column));
            i += 1;
        } else {
            return Err(format!("unexpected character `{c}` at position {column}"));
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Located>,
    next: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next).map(|(token, _)| token)
    }

    fn peek_symbol(&self) -> Option<char> {
        match self.peek() {
            Some(Token::Symbol(c)) => Some(*c),
            Some(Token::Number(_) | Token::Name(_)) | None => None,
        }
    }

    fn unexpected(&self) -> String {
        match self.tokens.get(self.next) {
            Some((token, column)) => {
                let shown = match token {
                    Token::Number(n) => format_number(*n),
                    Token::Name(name) => name.clone(),
                    Token::Symbol(c) => c.to_string(),
                };
                format!("unexpected `{shown}` at position {column}")
            }
            None => "the expression ends too early".to_string(),
        }
    }

    fn expect(&mut self, symbol: char) -> Result<(), String> {
        if self.peek_symbol() == Some(symbol) {
            self.next += 1;
            Ok(())
        } else {
            Err(format!("expected `{symbol}`: {}", self.unexpected()))
        }
    }

    fn expression(&mut self) -> Result<f64, String> {
        let mut value = self.term()?;
        while let Some(op @ ('+' | '-')) = self.peek_symbol() {
            self.next += 1;
            let right = self.term()?;
            value = if op == '+' {
                value + right
            } else {
                value - right
            };
            value = finite(value, "the sum")?;
        }
        Ok(value)
    }

    fn term(&mut self) -> Result<f64, String> {
        let mut value = self.unary()?;
        while let Some(op @ ('*' | '/' | '%')) = self.peek_symbol() {
            self.next += 1;
            let right = self.unary()?;
            value = match op {
                '*' => value * right,
                _ if right == 0.0 => return Err("division by zero".to_string()),
                '/' => value / right,
                _ => value % right,
            };
            value = finite(value, "the result")?;
        }
        Ok(value)
    }

    /// Every way the grammar nests passes through here, so this is where depth is counted.
    fn unary(&mut self) -> Result<f64, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!(
                "the expression is nested too deeply (more than {MAX_DEPTH} levels)"
            ));
        }
        let value = match self.peek_symbol() {
            Some('-') => {
                self.next += 1;
                self.unary().map(|v| -v)
            }
            Some('+') => {
                self.next += 1;
                self.unary()
            }
            _ => self.power(),
        };
        self.depth -= 1;
        value
    }

    /// `^` binds tighter than a leading minus (`-2^2` is -4) and groups to the right.
    fn power(&mut self) -> Result<f64, String> {
        let base = self.primary()?;
        if self.peek_symbol() == Some('^') {
            self.next += 1;
            let exponent = self.unary()?;
            return finite(base.powf(exponent), "the power");
        }
        Ok(base)
    }

    fn primary(&mut self) -> Result<f64, String> {
        let Some((token, _)) = self.tokens.get(self.next).cloned() else {
            return Err("the expression ends too early: expected a number".to_string());
        };
        match token {
            Token::Number(n) => {
                self.next += 1;
                Ok(n)
            }
            Token::Symbol('(') => {
                self.next += 1;
                let value = self.expression()?;
                self.expect(')')?;
                Ok(value)
            }
            Token::Symbol(_) => Err(self.unexpected()),
            Token::Name(name) => {
                self.next += 1;
                let called = self.peek_symbol() == Some('(');
                match (name.as_str(), called) {
                    ("pi", false) => Ok(std::f64::consts::PI),
                    ("e", false) => Ok(std::f64::consts::E),
                    ("pi" | "e", true) => Err(format!("`{name}` is a constant, not a function")),
                    (_, true) => self.call(&name),
                    (_, false) if FUNCTIONS.contains(&name.as_str()) => Err(format!(
                        "function `{name}` needs its arguments in parentheses"
                    )),
                    (_, false) => Err(format!("unknown name `{name}` (constants: pi, e)")),
                }
            }
        }
    }

    fn call(&mut self, name: &str) -> Result<f64, String> {
        if !FUNCTIONS.contains(&name) {
            let hint = if name == "log" {
                " (use ln or log10)"
            } else {
                ""
            };
            return Err(format!(
                "unknown function `{name}`{hint}; functions: {}",
                FUNCTIONS.join(", ")
            ));
        }
        self.expect('(')?;
        let mut args = vec![self.expression()?];
        while self.peek_symbol() == Some(',') {
            self.next += 1;
            args.push(self.expression()?);
        }
        self.expect(')')?;
        apply(name, &args)
    }
}

const FUNCTIONS: &[&str] = &[
    "sqrt", "abs", "ln", "log10", "sin", "cos", "tan", "floor", "ceil", "round", "min", "max",
];

fn apply(name: &str, args: &[f64]) -> Result<f64, String> {
    if name == "min" || name == "max" {
        let pick = if name == "min" { f64::min } else { f64::max };
        return args
            .iter()
            .copied()
            .reduce(pick)
            .ok_or_else(|| format!("`{name}` needs at least one argument"));
    }
    let &[x] = args else {
        return Err(format!("`{name}` takes one argument, got {}", args.len()));
    };
    let value = match name {
        "sqrt" if x < 0.0 => {
            return Err(format!("sqrt of a negative number ({})", format_number(x)));
        }
        "ln" | "log10" if x <= 0.0 => {
            return Err(format!(
                "{name} of a number that is not positive ({})",
                format_number(x)
            ));
        }
        "sqrt" => x.sqrt(),
        "abs" => x.abs(),
        "ln" => x.ln(),
        "log10" => x.log10(),
        "sin" => x.sin(),
        "cos" => x.cos(),
        "tan" => x.tan(),
        "floor" => x.floor(),
        "ceil" => x.ceil(),
        "round" => x.round(),
        _ => return Err(format!("unknown function `{name}`")),
    };
    finite(value, name)
}

fn finite(value: f64, what: &str) -> Result<f64, String> {
    if value.is_nan() {
        Err(format!("{what} is not a real number"))
    } else if value.is_infinite() {
        Err(format!("{what} is too large"))
    } else {
        Ok(value)
    }
}

/// Integers without a trailing `.0`; very large or small magnitudes in exponent form; 12
/// significant digits, so binary rounding noise (`2015.9999999999998`) does not reach the model.
fn format_number(value: f64) -> String {
    let value: f64 = format!("{value:.11e}").parse().unwrap_or(value);
    let magnitude = value.abs();
    if value == 0.0 {
        "0".to_string()
    } else if !(1e-7..1e21).contains(&magnitude) {
        format!("{value:e}")
    } else {
        format!("{value}")
    }
}

/// Evaluate an arithmetic expression.
pub(super) fn evaluate(text: &str) -> Result<f64, String> {
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        return Err("the expression is empty".to_string());
    }
    let mut parser = Parser {
        tokens,
        next: 0,
        depth: 0,
    };
    let value = parser.expression()?;
    if parser.next < parser.tokens.len() {
        return Err(parser.unexpected());
    }
    Ok(value)
}

pub(super) struct Calculator {
    spec: ToolSpec,
}

impl Calculator {
    pub(super) fn new() -> Self {
        Self {
            spec: ToolSpec {
                name: "calculator".to_string(),
                description: format!(
                    "Evaluates an arithmetic expression and returns the number. Operators: \
                     + - * / % ^ and parentheses; functions: {}; constants: pi, e.",
                    FUNCTIONS.join(", ")
                ),
                parameters: super::string_params(
                    &[("expression", "The expression, e.g. (2 + 3) * sqrt(16)")],
                    &["expression"],
                ),
            },
        }
    }
}

impl Tool for Calculator {
    fn spec(&self) -> &ToolSpec {
        &self.spec
    }

    fn call<'a>(
        &'a self,
        args: serde_json::Value,
        _ctx: &'a ToolContext,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async move {
            let expression = string_arg(&args, "expression")?;
            evaluate(expression).map(format_number)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calc(text: &str) -> Result<String, String> {
        evaluate(text).map(format_number)
    }

    #[test]
    fn evaluates_with_precedence_and_associativity() {
        let cases = [
            ("1 + 2 * 3", "7"),
            ("(1 + 2) * 3", "9"),
            ("10 - 4 - 3", "3"),
            ("2 ^ 3 ^ 2", "512"),
            ("2 ** 10", "1024"),
            ("-2 ^ 2", "-4"),
            ("2 ^ -1", "0.5"),
            ("--3", "3"),
            ("-(4 - 6)", "2"),
            ("7 / 2", "3.5"),
            ("7 % 3", "1"),
            ("0.1 + 0.2", "0.3"),
            ("48000 * 0.12 * 0.35", "2016"),
            (".5 * 4", "2"),
            ("1.5e3", "1500"),
            ("10 / 4 * 2", "5"),
            ("1e300 * 10", "1e301"),
        ];
        for (expression, expected) in cases {
            assert_eq!(calc(expression).as_deref(), Ok(expected), "{expression}");
        }
    }

    #[test]
    fn functions_and_constants() {
        let cases = [
            ("sqrt(16)", "4"),
            ("abs(-3.5)", "3.5"),
            ("ln(e)", "1"),
            ("log10(1000)", "3"),
            ("sin(0)", "0"),
            ("cos(pi)", "-1"),
            ("tan(0)", "0"),
            ("floor(2.7) + ceil(2.1) + round(2.5)", "8"),
            ("min(3, 1, 2)", "1"),
            ("max(3, 1 + 9, 2)", "10"),
            ("PI * 2", "6.28318530718"),
            ("sqrt(max(9, 4)) ^ 2", "9"),
        ];
        for (expression, expected) in cases {
            assert_eq!(calc(expression).as_deref(), Ok(expected), "{expression}");
        }
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let cases = [
            ("1 / 0", "division by zero"),
            ("5 % (2 - 2)", "division by zero"),
            ("foo + 1", "unknown name `foo`"),
            ("log(10)", "use ln or log10"),
            ("bar(1)", "unknown function `bar`"),
            ("1 + 2 3", "unexpected `3` at position 7"),
            ("(1 + 2", "expected `)`"),
            ("1 +", "ends too early"),
            ("", "empty"),
            ("2 $ 3", "unexpected character `$`"),
            ("sqrt(-1)", "sqrt of a negative number"),
            ("ln(0)", "not positive"),
            ("10 ^ 400", "too large"),
            ("sqrt", "needs its arguments in parentheses"),
            ("sqrt(1, 2)", "takes one argument, got 2"),
            ("pi(2)", "is a constant"),
            ("1..2", "is not a number"),
            ("2e", "unexpected `e`"),
            ("1e308 / 1e-308", "too large"),
            ("1e400", "the number at position 1 is too large"),
            ("2 + 1e309", "the number at position 5 is too large"),
        ];
        for (expression, expected) in cases {
            match calc(expression) {
                Ok(value) => panic!("{expression} gave {value}, expected an error"),
                Err(message) => assert!(
                    message.contains(expected),
                    "{expression}: {message:?} does not mention {expected:?}"
                ),
            }
        }
        let digits = "9".repeat(400);
        let message = calc(&digits).unwrap_err();
        assert!(message.contains("is too large"), "{message}");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let opened = "(".repeat(100_000);
        let message = calc(&opened).unwrap_err();
        assert!(message.contains("nested too deeply"), "{message}");
        let balanced = format!("{}1{}", "(".repeat(5_000), ")".repeat(5_000));
        assert!(calc(&balanced).unwrap_err().contains("nested too deeply"));
        let signs = format!("{}1", "-".repeat(100_000));
        assert!(calc(&signs).unwrap_err().contains("nested too deeply"));
        let powers = vec!["2"; 50_000].join("^");
        assert!(calc(&powers).unwrap_err().contains("nested too deeply"));
        let modest = format!("{}1{}", "(".repeat(50), ")".repeat(50));
        assert_eq!(calc(&modest).as_deref(), Ok("1"));
    }

    #[test]
    fn random_input_gives_a_value_or_an_error() {
        let alphabet: Vec<char> = "0123456789.eE+-*/%^(), pisqrtmaxlog10é$".chars().collect();
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..5_000 {
            let len = rng.usize(0..40);
            let text: String = (0..len)
                .map(|_| alphabet[rng.usize(..alphabet.len())])
                .collect();
            if let Ok(value) = evaluate(&text) {
                assert!(value.is_finite(), "{text} gave {value}");
            }
        }
    }

    #[tokio::test]
    async fn the_tool_wants_a_string_expression() {
        let tool = Calculator::new();
        let ctx = ToolContext {
            cancel: tokio_util::sync::CancellationToken::new(),
        };
        let ok = tool
            .call(serde_json::json!({"expression": "6*7"}), &ctx)
            .await;
        assert_eq!(ok.as_deref(), Ok("42"));
        let missing = tool.call(serde_json::json!({}), &ctx).await.unwrap_err();
        assert!(missing.contains("missing string argument `expression`"));
        let number = tool.call(serde_json::json!({"expression": 3}), &ctx).await;
        assert!(number.unwrap_err().contains("must be a string"));
    }
}
