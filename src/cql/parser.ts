import type {
  CqlBooleanOperator,
  CqlClause,
  CqlNode,
  CqlQuery,
  CqlRelation,
  CqlRelationModifier,
  CqlSortKey,
} from './ast.ts';
import { CQL_LIMITS, CqlError, CqlLimitError } from './errors.ts';
import { tokenize, type Token } from './lexer.ts';

const BOOLEAN_OPERATORS = new Set(['and', 'or', 'not']);
const KEYWORDS = new Set(['and', 'or', 'not', 'prox', 'sortby']);
const WORD_RELATIONS = new Set(['adj', 'all', 'any']);
const UNSUPPORTED_RELATIONS = new Set(['within', 'encloses', 'exact', 'scr']);
/** Words that end a multi-word term because cql-java would take them for a relation (folio-contract §5.1). */
const AMBIGUOUS_TERM_WORDS = new Set(['any', 'all', 'within', 'encloses']);
const RELATION_MODIFIERS = new Set<string>(['number', 'string', 'sort.ascending', 'sort.descending']);
const SORT_MODIFIERS = new Set(['sort.ascending', 'sort.descending', 'number', 'string']);

/** Parses a CQL query (folio-contract §5.1). Throws CqlError for syntax errors and unsupported features. */
export function parseCql(text: string): CqlQuery {
  if (text.length > CQL_LIMITS.maxLength) {
    throw new CqlLimitError(
      CQL_LIMITS.maxLength + 1,
      `the query is longer than ${CQL_LIMITS.maxLength} characters`,
      text.slice(CQL_LIMITS.maxLength, CQL_LIMITS.maxLength + 20),
    );
  }
  return new Parser(text).parseQuery();
}

class Parser {
  private readonly tokens: Token[];
  private index = 0;
  private depth = 0;

  constructor(text: string) {
    this.tokens = tokenize(text);
  }

  parseQuery(): CqlQuery {
    if (this.peek().kind === 'eof') return { root: null, sortKeys: [] };
    if (this.isKeyword(this.peek(), 'sortby'))
      throw this.error(this.peek(), 'expected a search clause before "sortby"');
    const root = this.parseBoolQuery();
    const sortKeys = this.isKeyword(this.peek(), 'sortby') ? this.parseSortKeys() : [];
    const rest = this.peek();
    if (rest.kind !== 'eof') {
      const problem =
        rest.kind === 'rparen' ? 'unbalanced ")"' : `expected a boolean operator, found "${rest.raw}"`;
      throw this.error(rest, problem);
    }
    return { root, sortKeys };
  }

  private parseBoolQuery(): CqlNode {
    let left = this.parseClause();
    for (let op = this.booleanOperator(); op !== null; op = this.booleanOperator()) {
      const opToken = this.next();
      this.rejectModifiers(`boolean operator "${opToken.raw}"`);
      const right = this.parseClause();
      left = { type: 'boolean', operator: op, left, right, position: opToken.position };
    }
    return left;
  }

  /** The boolean operator at the current token, or null. Rejects `prox`. */
  private booleanOperator(): CqlBooleanOperator | null {
    const token = this.peek();
    if (token.kind !== 'word') return null;
    const word = token.text.toLowerCase();
    if (word === 'prox') throw this.error(token, 'the boolean operator "prox" is not supported');
    return BOOLEAN_OPERATORS.has(word) ? (word as CqlBooleanOperator) : null;
  }

  private parseClause(): CqlNode {
    const token = this.peek();
    if (token.kind === 'lparen') {
      this.next();
      if (++this.depth > CQL_LIMITS.maxParentheses) {
        const problem = `parentheses nested deeper than ${CQL_LIMITS.maxParentheses}`;
        throw new CqlLimitError(token.position, problem, token.raw);
      }
      const inner = this.parseBoolQuery();
      this.expectClosingParen(token);
      this.depth--;
      return inner;
    }
    if ((token.kind !== 'word' && token.kind !== 'string') || this.isKeyword(token)) {
      throw this.error(
        token,
        token.kind === 'eof' ? 'expected a search clause' : `expected a search clause, found "${token.raw}"`,
      );
    }
    this.next();
    const relationToken = this.peek();
    const relation = this.relationAt(relationToken);
    if (relation === null) {
      throw this.error(token, `a term without an index (server choice) is not supported: "${token.raw}"`);
    }
    this.next();
    const modifiers = this.parseRelationModifiers();
    return this.parseTermOrGroup(token, relation, modifiers, relationToken);
  }

  private relationAt(token: Token): CqlRelation | null {
    if (token.kind === 'symbol') return token.text as CqlRelation;
    if (token.kind !== 'word') return null;
    const word = token.text.toLowerCase();
    if (WORD_RELATIONS.has(word)) return word as CqlRelation;
    if (UNSUPPORTED_RELATIONS.has(word) || (word.includes('.') && !this.isKeyword(token))) {
      throw this.error(token, `the relation "${token.raw}" is not supported`);
    }
    return null;
  }

  private parseRelationModifiers(): CqlRelationModifier[] {
    const modifiers: CqlRelationModifier[] = [];
    while (this.peek().kind === 'slash') {
      const name = this.parseModifierName();
      if (!RELATION_MODIFIERS.has(name.text.toLowerCase())) {
        throw this.error(name, `the relation modifier "${name.raw}" is not supported`);
      }
      modifiers.push(name.text.toLowerCase() as CqlRelationModifier);
    }
    return modifiers;
  }

  /** Consumes `/ name` and rejects modifiers with a value (`/name=value`). */
  private parseModifierName(): Token {
    this.next();
    const name = this.peek();
    if (name.kind !== 'word') throw this.error(name, `expected a modifier name after "/"`);
    this.next();
    if (this.peek().kind === 'symbol') {
      throw this.error(this.peek(), `modifier values are not supported ("${name.raw}${this.peek().raw}")`);
    }
    return name;
  }

  private rejectModifiers(what: string): void {
    if (this.peek().kind === 'slash') throw this.error(this.peek(), `modifiers on ${what} are not supported`);
  }

  /** `term` or `( term { boolOp term } )`: the index and relation apply to every term of a group. */
  private parseTermOrGroup(
    indexToken: Token,
    relation: CqlRelation,
    modifiers: CqlRelationModifier[],
    relationToken: Token,
  ): CqlNode {
    const makeClause = (afterToken: Token): CqlClause => {
      const term = this.parseTerm(afterToken);
      return {
        type: 'clause',
        index: indexToken.text,
        relation,
        modifiers,
        term: term.text,
        quoted: term.quoted,
        position: indexToken.position,
        termPosition: term.position,
      };
    };
    const open = this.peek();
    if (open.kind !== 'lparen') return makeClause(relationToken);
    this.next();
    let node: CqlNode = makeClause(open);
    for (let op = this.booleanOperator(); op !== null; op = this.booleanOperator()) {
      const opToken = this.next();
      this.rejectModifiers(`boolean operator "${opToken.raw}"`);
      node = {
        type: 'boolean',
        operator: op,
        left: node,
        right: makeClause(opToken),
        position: opToken.position,
      };
    }
    this.expectClosingParen(open);
    return node;
  }

  /** A run of words and strings that are not keywords, joined by single spaces (folio-contract §5.1 multi-word terms). */
  private parseTerm(after: Token): { text: string; quoted: boolean; position: number } {
    const first = this.peek();
    if ((first.kind !== 'word' && first.kind !== 'string') || this.isKeyword(first)) {
      throw this.error(first, `expected a term after "${after.raw}"`);
    }
    this.next();
    const parts = [first.text];
    let quoted = first.kind === 'string';
    for (let token = this.peek(); this.continuesTerm(token); token = this.peek()) {
      this.next();
      parts.push(token.text);
      quoted ||= token.kind === 'string';
    }
    return { text: parts.join(' '), quoted, position: first.position };
  }

  private continuesTerm(token: Token): boolean {
    if (token.kind === 'string') return true;
    if (token.kind !== 'word' || this.isKeyword(token)) return false;
    const word = token.text.toLowerCase();
    if (word.includes('.') || AMBIGUOUS_TERM_WORDS.has(word)) {
      throw this.error(token, `ambiguous unquoted term: quote the term if "${token.raw}" belongs to it`);
    }
    return true;
  }

  private parseSortKeys(): CqlSortKey[] {
    const sortby = this.next();
    const keys: CqlSortKey[] = [];
    while (this.peek().kind === 'word' || this.peek().kind === 'string') {
      keys.push(this.parseSortKey());
    }
    if (keys.length === 0) throw this.error(this.peek(), `expected a sort key after "${sortby.raw}"`);
    return keys;
  }

  private parseSortKey(): CqlSortKey {
    const indexToken = this.next();
    let descending = false;
    let numeric = false;
    while (this.peek().kind === 'slash') {
      const name = this.parseModifierName();
      const modifier = name.text.toLowerCase();
      if (!SORT_MODIFIERS.has(modifier))
        throw this.error(name, `the sort modifier "${name.raw}" is not supported`);
      if (modifier === 'sort.descending') descending = true;
      else if (modifier === 'sort.ascending') descending = false;
      else numeric = modifier === 'number';
    }
    return { index: indexToken.text, descending, numeric, position: indexToken.position };
  }

  private expectClosingParen(open: Token): void {
    const token = this.peek();
    if (token.kind !== 'rparen') {
      const problem =
        token.kind === 'eof'
          ? `missing ")" for "(" at position ${open.position}`
          : `expected ")" or a boolean operator, found "${token.raw}"`;
      throw this.error(token, problem);
    }
    this.next();
  }

  private isKeyword(token: Token, keyword?: string): boolean {
    if (token.kind !== 'word') return false;
    const word = token.text.toLowerCase();
    return keyword === undefined ? KEYWORDS.has(word) : word === keyword;
  }

  private peek(): Token {
    return this.tokens[this.index];
  }

  private next(): Token {
    const token = this.tokens[this.index];
    if (token.kind !== 'eof') this.index++;
    return token;
  }

  private error(token: Token, problem: string): CqlError {
    return new CqlError(token.position, problem, token.raw);
  }
}
