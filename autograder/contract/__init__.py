"""What the grader, the trust boundary and the deliveries agree on: the three functions, a
call's outcome and its words, and how a student's file is read. Shipped with the judge.
"""
